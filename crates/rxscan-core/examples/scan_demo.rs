//! Embed rxscan: compile the PINCER pack, load an extract, evaluate a monthly series, and read
//! the counts. Run from the repository root:
//!
//! ```text
//! cargo run -p rxscan-core --example scan_demo -- rules/pincer testdata/demo
//! ```

use std::path::PathBuf;

use rxscan_core::compile::{compile_dir, CompileOptions};
use rxscan_core::dates;
use rxscan_core::eval::EvalOptions;
use rxscan_core::{IndexDates, Scan};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rules = PathBuf::from(args.next().unwrap_or_else(|| "rules/pincer".into()));
    let data = PathBuf::from(args.next().unwrap_or_else(|| "testdata/demo".into()));

    // 1. Compile: every error comes back at once, rendered with file:line:col and a caret.
    let plan = compile_dir(&rules, &CompileOptions::default())
        .map_err(|e| e.render(false))?
        .plan;

    // 2. Twelve monthly index dates, checked once; the rows the plan can see at them are
    //    planned here, before anything is read.
    let from = IndexDates::parse("2019-10-01")?;
    let to = IndexDates::parse("2020-09-01")?;
    let scan = Scan::new(plan, IndexDates::monthly(from, to)?);

    // 3. Load only those rows, then evaluate the twelve dates in one pass over them.
    let extract = scan.load(&data)?;
    let results = scan.evaluate(&extract, &EvalOptions::default())?;

    // 4. Read the results: national-style totals per month for each measure.
    print!("{:<10}", "month");
    for m in &results.measures {
        print!("{m:>10}");
    }
    println!();
    for (d, &day) in results.index_dates.iter().enumerate() {
        print!("{:<10}", &dates::format_iso(day)[..7]);
        for m in 0..results.measures.len() {
            let (num, den) = results.total(d, m);
            print!("{:>10}", format!("{num}/{den}"));
        }
        println!();
    }
    Ok(())
}
