//! `rxscan explain ID`: a measure's documentation and its definition with the shared
//! definitions it uses expanded (formatted by `rxscan_core::output::pack::explain`).

use anyhow::{anyhow, Result};
use clap::Args;
use rxscan_core::output::pack;

use crate::rules::{compile_rules, pack as pack_of, RulesArgs};

#[derive(Args)]
pub struct ExplainArgs {
    /// Measure id, e.g. `a` or `li`.
    id: String,
    #[command(flatten)]
    rules: RulesArgs,
}

pub fn run(args: ExplainArgs) -> Result<()> {
    let plan = compile_rules(&args.rules)?.plan;
    let text = pack::explain(&pack_of(&args.rules).name(), &plan, &args.id);
    outln!("{}", text.map_err(|e| anyhow!(e))?.trim_end());
    Ok(())
}
