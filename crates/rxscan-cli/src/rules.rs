//! The rule-pack arguments every command shares (`--rules`, `--param`) and compiling the pack.

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use clap::Args;
use rxscan_core::compile::{CompileError, CompileOptions, Compiled};
use rxscan_core::{packs::Pack, paths};

use crate::flag;

#[derive(Args)]
pub struct RulesArgs {
    /// Folder of rule files (`*.rx`, searched recursively) [default: the PINCER pack built
    /// into rxscan].
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Override a parameter of the pack: `--param NAME=VALUE` (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
}

/// The pack in use (`--rules DIR`, or the built-in PINCER pack), compiled.
pub fn compile_rules(args: &RulesArgs) -> Result<(Pack, Compiled)> {
    let opts = CompileOptions::from_params(&args.params).map_err(flag("--param"))?;
    let dir = args.rules.as_deref().map(paths::folder).transpose();
    let pack = dir
        .map_err(flag("--rules"))?
        .map_or(Pack::BuiltinPincer, |d| Pack::Dir(d.into()));
    match pack.compile(&opts) {
        Ok(compiled) => Ok((pack, compiled)),
        Err(CompileError::NoRules(dir)) => Err(anyhow!(
            "--rules {}: no rule files (*.rx) in this folder",
            dir.display()
        )),
        Err(e) => Err(rxscan_core::Error::from(e).into()),
    }
}
