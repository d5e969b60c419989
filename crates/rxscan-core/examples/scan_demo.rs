//! Embed rxscan: compile the PINCER pack, load an extract, evaluate a monthly series, and read
//! the counts. Run from the repository root:
//!
//! ```text
//! cargo run -p rxscan-core --example scan_demo -- rules/pincer testdata/demo
//! ```

use std::path::PathBuf;

use rxscan_core::compile::{compile_dir, CompileOptions};
use rxscan_core::dates;
use rxscan_core::eval::{evaluate, EvalOptions};
use rxscan_core::extract::{Extract, LoadOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rules = PathBuf::from(args.next().unwrap_or_else(|| "rules/pincer".into()));
    let data = PathBuf::from(args.next().unwrap_or_else(|| "testdata/demo".into()));

    // 1. Compile: every error comes back at once, rendered with file:line:col and a caret.
    let plan = compile_dir(&rules, &CompileOptions::default())
        .map_err(|e| e.render(false))?
        .plan;

    // 2. Load only the rows a codelist of the plan can match.
    let extract = Extract::load(&data, &LoadOptions::for_plan(&plan))?;

    // 3. Evaluate twelve monthly index dates in one pass over the rows.
    let from = dates::parse_iso("2019-10-01").ok_or("bad date")?;
    let to = dates::parse_iso("2020-09-01").ok_or("bad date")?;
    let series = dates::monthly_series(from, to);
    let results = evaluate(&plan, &extract, &series, &EvalOptions::default())?;

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
