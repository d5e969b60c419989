//! The rule-pack arguments every command shares (`--rules`, `--param`), compiling the pack,
//! and naming a flag in a library's error.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use clap::Args;
use rxscan_core::compile::{CompileError, CompileOptions, Compiled};
use rxscan_core::{packs::Pack, paths};

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

/// An error named by the flag the user gave (`--data nope: no such folder`): the library's
/// messages name no flags.
pub fn flag<E: std::fmt::Display>(name: &'static str) -> impl Fn(E) -> anyhow::Error {
    move |e| anyhow!("{name} {e}")
}

/// A folder given on the command line, or an error naming the flag.
pub fn check_folder(name: &'static str, dir: &Path) -> Result<()> {
    paths::folder(dir).map_err(flag(name))?;
    Ok(())
}

pub fn compile_rules(args: &RulesArgs) -> Result<Compiled> {
    let opts = CompileOptions::from_params(&args.params).map_err(flag("--param"))?;
    if let Some(dir) = &args.rules {
        check_folder("--rules", dir)?;
    }
    pack(args).compile(&opts).map_err(|e| match e {
        CompileError::NoRules(dir) => {
            anyhow!(
                "--rules {}: no rule files (*.rx) in this folder",
                dir.display()
            )
        }
        e => rxscan_core::Error::from(e).into(),
    })
}
