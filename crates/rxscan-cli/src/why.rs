//! `rxscan why`: one patient at one index date, every condition with true/false and the rows
//! behind it (the tree is built and formatted by `rxscan_core::output::why::tree`).

use anyhow::{anyhow, Result};
use clap::Args;
use rxscan_core::output::why;
use rxscan_core::scan::Data;
use rxscan_core::{evidence, IndexDates, Scan};

use crate::args::{flag, ExtractArgs, RulesArgs};
use crate::out;

#[derive(Args)]
pub struct WhyArgs {
    #[command(flatten)]
    rules: RulesArgs,
    /// The extract (`--data`, `--mapping`, `--absent` as for `rxscan scan`; in a PCN folder,
    /// the patient's practice folder).
    #[command(flatten)]
    extract: ExtractArgs,
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
    let day = IndexDates::parse(&args.index_date).map_err(flag("--index-date"))?;
    let plan = args.rules.compile()?.plan;
    evidence::measures_named(&plan, args.measure.as_deref()).map_err(flag("--measure:"))?;
    let dates = IndexDates::of([day]).map_err(rxscan_core::Error::from)?;
    let scan = args
        .extract
        .apply(Scan::new(plan, dates).with_all_history())?;
    let data = &args.extract.data;
    let one = Data::find(data, scan.load_options().mapping.as_deref())?.one_extract();
    one.map_err(|e| anyhow!("--data {}: {e}", data.display()))?;
    let extract = scan.load(data)?;
    let tree = why::tree(&scan, &extract, args.patient, day, args.measure.as_deref())
        .map_err(rxscan_core::Error::from)?;
    out(tree.trim_end())
}
