//! `rxscan why`: one patient at one index date, every condition with true/false and the rows
//! behind it (the tree is built and formatted by `rxscan_core::evidence::why_tree`).

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use clap::Args;
use rxscan_core::{evidence, IndexDates, Scan};

use crate::rules::{check_folder, compile_rules, RulesArgs};

#[derive(Args)]
pub struct WhyArgs {
    #[command(flatten)]
    rules: RulesArgs,
    /// Extract folder (as for `rxscan scan`).
    #[arg(long)]
    data: PathBuf,
    /// The patient's `patient_id`.
    #[arg(long)]
    patient: i64,
    /// Index date: the 1st of a month, as YYYY-MM-DD.
    #[arg(long = "index-date", value_name = "DATE")]
    index_date: String,
    /// Only this measure (default: every measure of the pack).
    #[arg(long)]
    measure: Option<String>,
}

pub fn run(args: WhyArgs) -> Result<()> {
    let day = IndexDates::parse(&args.index_date).map_err(|e| anyhow!("--index-date {e}"))?;
    check_folder("--data", &args.data)?;
    let plan = compile_rules(&args.rules)?.plan;
    evidence::measures_named(&plan, args.measure.as_deref())
        .map_err(|e| anyhow!("--measure: {e}"))?;
    let dates = IndexDates::of([day]).map_err(rxscan_core::Error::from)?;
    let scan = Scan::new(plan, dates).with_all_history();
    let extract = scan.load(&args.data)?;
    let tree = evidence::why_tree(&scan, &extract, args.patient, day, args.measure.as_deref())
        .map_err(rxscan_core::Error::from)?;
    outln!("{}", tree.trim_end());
    Ok(())
}
