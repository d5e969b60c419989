//! `rxscan check`, `rxscan rules`, `rxscan rule ID` and `rxscan explain ID`: a pack compiled and
//! described (the text is `rxscan_core::output::pack`'s).

use anyhow::{anyhow, Result};
use clap::Args;
use rxscan_core::output::pack as text;

use crate::colour;
use crate::rules::{compile_rules, RulesArgs};

#[derive(Args)]
pub struct MeasureArgs {
    /// Measure id, e.g. `a` or `li`.
    id: String,
    #[command(flatten)]
    rules: RulesArgs,
}

pub fn check(args: RulesArgs) -> Result<()> {
    let (pack, compiled) = compile_rules(&args)?;
    errout!("{}", compiled.sources.render(&compiled.warnings, colour()));
    let n_warn = compiled.warnings.len();
    outln!(
        "{}",
        text::check_summary(&pack.name(), &compiled.plan, n_warn)
    );
    Ok(())
}

pub fn list(args: RulesArgs) -> Result<()> {
    let (pack, compiled) = compile_rules(&args)?;
    outln!("{}", text::listing(&pack.name(), &compiled.plan).trim_end());
    Ok(())
}

/// A measure's documentation (`rule`), or with its definition expanded (`explain`).
pub fn measure(args: MeasureArgs, explain: bool) -> Result<()> {
    let (pack, compiled) = compile_rules(&args.rules)?;
    let render = if explain {
        text::explain
    } else {
        text::measure_doc
    };
    let doc = render(&pack.name(), &compiled.plan, &args.id).map_err(|e| anyhow!(e))?;
    outln!("{}", doc.trim_end());
    Ok(())
}
