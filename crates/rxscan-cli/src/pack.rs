//! The commands over a pack alone: `rxscan check`, `rules`, `rule ID`, `explain ID` (the text is
//! `rxscan_core::output::pack`'s) and `test` (`rxscan_core::ruletest`).

use anyhow::{anyhow, Result};
use clap::Args;
use rxscan_core::output::pack as text;
use rxscan_core::ruletest;

use crate::args::RulesArgs;
use crate::{colour, err, out};

#[derive(Args)]
pub struct MeasureArgs {
    /// Measure id, e.g. `a` or `li`.
    id: String,
    #[command(flatten)]
    rules: RulesArgs,
}

pub fn check(args: RulesArgs) -> Result<()> {
    let compiled = args.compile()?;
    err(compiled.sources.render(&compiled.warnings, colour()));
    let n_warn = compiled.warnings.len();
    out(&text::check_summary(
        &args.pack().name(),
        &compiled.plan,
        n_warn,
    ))
}

pub fn list(args: RulesArgs) -> Result<()> {
    let plan = args.compile()?.plan;
    out(text::listing(&args.pack().name(), &plan).trim_end())
}

/// A measure's documentation (`rule`), or with its definition expanded (`explain`).
pub fn measure(args: MeasureArgs, explain: bool) -> Result<()> {
    let plan = args.rules.compile()?.plan;
    let render = if explain {
        text::explain
    } else {
        text::measure_doc
    };
    let doc = render(&args.rules.pack().name(), &plan, &args.id).map_err(|e| anyhow!(e))?;
    out(doc.trim_end())
}

/// The pack's own tests (`tests/*.toml`); [`Failed`] (exit code 1) when one does not hold.
pub fn test(args: RulesArgs) -> Result<()> {
    let plan = args.compile()?.plan;
    let suite = ruletest::read_suite(&args.pack(), &plan).map_err(rxscan_core::Error::from)?;
    let report = ruletest::run_suite(&plan, &suite)?;
    out(report.render().trim_end())?;
    match report.passed() {
        true => Ok(()),
        false => Err(Failed.into()),
    }
}

/// The tests ran and some did not hold (the report on stdout says which): exit code 1.
#[derive(Debug)]
pub struct Failed;

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("some tests failed")
    }
}

impl std::error::Error for Failed {}
