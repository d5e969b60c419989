//! `rxscan check`, `rxscan rules`, `rxscan rule ID` and `rxscan explain ID`: a pack compiled and
//! described (the text is `rxscan_core::output::pack`'s).

use anyhow::{anyhow, Result};
use clap::Args;
use rxscan_core::output::pack as text;

use crate::rules::{compile_rules, pack, RulesArgs};
use crate::{colour, err, out};

#[derive(Args)]
pub struct MeasureArgs {
    /// Measure id, e.g. `a` or `li`.
    id: String,
    #[command(flatten)]
    rules: RulesArgs,
}

pub fn check(args: RulesArgs) -> Result<()> {
    let compiled = compile_rules(&args)?;
    err(compiled.sources.render(&compiled.warnings, colour()));
    let n_warn = compiled.warnings.len();
    out(&text::check_summary(
        &pack(&args).name(),
        &compiled.plan,
        n_warn,
    ))
}

pub fn list(args: RulesArgs) -> Result<()> {
    let plan = compile_rules(&args)?.plan;
    out(text::listing(&pack(&args).name(), &plan).trim_end())
}

/// A measure's documentation (`rule`), or with its definition expanded (`explain`).
pub fn measure(args: MeasureArgs, explain: bool) -> Result<()> {
    let plan = compile_rules(&args.rules)?.plan;
    let render = if explain {
        text::explain
    } else {
        text::measure_doc
    };
    let doc = render(&pack(&args.rules).name(), &plan, &args.id).map_err(|e| anyhow!(e))?;
    out(doc.trim_end())
}
