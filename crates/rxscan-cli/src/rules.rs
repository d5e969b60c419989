//! The rule-pack arguments every command shares (`--rules`, `--param`) and compiling the pack.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};
use clap::Args;
use rxscan_core::compile::{CompileError, CompileOptions, Compiled};
use rxscan_core::packs::Pack;

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

/// The pack in use: `--rules DIR`, or the built-in PINCER pack.
pub fn pack(args: &RulesArgs) -> Pack {
    args.rules.clone().map_or(Pack::BuiltinPincer, Pack::Dir)
}

/// A folder given on the command line, or an error naming the flag.
pub fn check_folder(flag: &str, dir: &std::path::Path) -> Result<()> {
    if !dir.exists() {
        bail!("{flag} {}: no such folder", dir.display());
    }
    if !dir.is_dir() {
        bail!("{flag} {}: not a folder", dir.display());
    }
    Ok(())
}

pub fn compile_rules(args: &RulesArgs) -> Result<Compiled> {
    let mut params = Vec::new();
    for p in &args.params {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| anyhow!("--param {p}: expected NAME=VALUE"))?;
        params.push((k.trim().to_string(), v.trim().to_string()));
    }
    if let Some(dir) = &args.rules {
        check_folder("--rules", dir)?;
    }
    let compiled = pack(args).compile(&CompileOptions { params });
    compiled.map_err(|e| match (&e, &args.rules) {
        (CompileError::NoRules(_), Some(dir)) => {
            anyhow!(
                "--rules {}: no rule files (*.rx) in this folder",
                dir.display()
            )
        }
        _ => rxscan_core::Error::from(e).into(),
    })
}
