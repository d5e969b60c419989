//! `rxscan test`: run a pack's own tests (`tests/*.toml`); exit 1 when one does not hold.

use anyhow::Result;
use rxscan_core::ruletest;

use crate::out;
use crate::rules::{compile_rules, pack, RulesArgs};

/// The tests ran and some did not hold (the report on stdout says which): exit code 1.
#[derive(Debug)]
pub struct Failed;

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("some tests failed")
    }
}

impl std::error::Error for Failed {}

pub fn run(args: RulesArgs) -> Result<()> {
    let plan = compile_rules(&args)?.plan;
    let suite = ruletest::read_suite(&pack(&args), &plan).map_err(rxscan_core::Error::from)?;
    let report = ruletest::run_suite(&plan, &suite)?;
    out(report.render().trim_end())?;
    match report.passed() {
        true => Ok(()),
        false => Err(Failed.into()),
    }
}
