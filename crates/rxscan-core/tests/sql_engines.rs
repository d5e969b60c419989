//! The SQL lowering against real engines: random rule packs from the property tests' grammar,
//! and the shipped PINCER pack on random extracts, each run by the native engine (written with
//! the library's own renderers) and as the script of `rxscan_core::sql` on DuckDB (or Spark),
//! through `scripts/sql_compare.py`, which compares summary, patients and composites row for
//! row and prints the rows only one side has.
//!
//! Needs Python with the `duckdb` package (`.ci/install-engines.sh`), so it is `#[ignore]`d in a
//! plain `cargo test`; `.ci/sql-engines.sh` runs it with `--ignored`. `RXSCAN_SQL_ENGINE=spark`
//! runs the same cases on Spark; `RXSCAN_SQL_CASES` sets the number of cases of each kind.
#![allow(dead_code)]

#[path = "common/mod.rs"]
mod common;
#[path = "properties/engine.rs"]
mod engine;
#[path = "properties/generators.rs"]
mod generators;
#[path = "properties/packs.rs"]
mod packs;
#[path = "properties/pincer_cases.rs"]
mod pincer_cases;
#[path = "reference/mod.rs"]
mod reference;
#[path = "properties/reorder.rs"]
mod reorder;
#[path = "properties/resolve.rs"]
mod resolve;
#[path = "properties/writers.rs"]
mod writers;

use std::path::Path;
use std::process::Command;

use chrono::NaiveDate;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use rxscan_core::compile::{compile_sources, CompileOptions};
use rxscan_core::output::{write_folder, OutputOptions, RenderInput};
use rxscan_core::plan::Plan;
use rxscan_core::results::Suppression;
use rxscan_core::sql::{self, SqlOptions};
use rxscan_core::IndexDates;

use generators::{dates_spec, extract_spec};
use reference::RawExtract;
use resolve::Ctx;
use writers::{write_extract, Format};

fn engine_name() -> String {
    std::env::var("RXSCAN_SQL_ENGINE").unwrap_or_else(|_| "duckdb".into())
}

fn cases(default: usize) -> usize {
    std::env::var("RXSCAN_SQL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Write one case folder (`data/`, `native/`, `script.sql`); `false` when both the engine and
/// the lowering refuse the dates (an index date where a window end is no calendar day).
fn write_case(dir: &Path, plan: &Plan, raw: &RawExtract, dates: &[NaiveDate], f: Format) -> bool {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("mkdir");
    write_extract(raw, &data, f);
    let days: Vec<i32> = dates
        .iter()
        .map(|d| rxscan_core::dates::parse_iso(&reference::iso(*d)).expect("a date"))
        .collect();
    let index = IndexDates::any_days(days).expect("dates");
    let dialect = sql::dialect(&engine_name()).expect("RXSCAN_SQL_ENGINE: spark or duckdb");
    let script = sql::script(plan, index.days(), dialect, &SqlOptions::default());
    let native = engine::run(plan, &engine::load(plan, &data, false, Some(dates)), dates);
    match (native, script) {
        (Ok(results), Ok(script)) => {
            std::fs::write(dir.join("script.sql"), script).expect("write script");
            let input = RenderInput::of(&results, Suppression::None);
            let opts = OutputOptions {
                suppression: Suppression::None,
                patient_level: true,
            };
            write_folder(&dir.join("native"), &input, &opts, &mut |_| {}).expect("write native");
            true
        }
        (Err(a), Err(b)) => {
            assert_eq!(
                a,
                b.to_string(),
                "the engine and the lowering refuse the dates alike"
            );
            false
        }
        (a, b) => panic!(
            "the engine and the lowering disagree on the dates {dates:?}: engine {:?}, sql {:?}",
            a.err(),
            b.err()
        ),
    }
}

/// Run the comparison over every case folder under `root`; fail with its report.
fn compare(root: &Path, written: usize) {
    assert!(written > 0, "no case was written");
    let mut cmd = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()));
    cmd.arg(common::repo().join("scripts/sql_compare.py"))
        .arg("--engine")
        .arg(engine_name());
    let mut dirs: Vec<_> = std::fs::read_dir(root)
        .expect("read cases")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("script.sql").exists())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), written);
    let out = cmd
        .args(&dirs)
        .output()
        .expect("run python3 scripts/sql_compare.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the SQL results differ from the engine's (cases kept in {}):\n{stdout}\n{stderr}",
        root.display()
    );
}

fn format(runner: &mut TestRunner, i: usize) -> Format {
    let parquet = Strategy::new_tree(&proptest::bool::weighted(0.4), runner)
        .expect("bool")
        .current();
    // Plain files: the odd shapes of user files are the loader's tests, not these.
    let _ = i;
    Format {
        parquet,
        flavour: 0,
    }
}

#[test]
#[ignore = "needs Python and DuckDB: .ci/install-engines.sh, then .ci/sql-engines.sh"]
fn random_packs_sql_equals_engine() {
    let root = tempfile::tempdir().expect("tempdir");
    let mut runner = TestRunner::deterministic();
    let (mut written, mut tried, mut ties) = (0, 0, 0);
    let want = cases(60);
    while written < want && tried < want * 4 {
        tried += 1;
        let dir = root.path().join(format!("pack-{tried:03}"));
        let pack = packs::pack().new_tree(&mut runner).expect("pack").current();
        let files = pack.write(&dir);
        let Ok(compiled) = compile_sources(files, &CompileOptions::default()) else {
            continue;
        };
        let plan = compiled.plan;
        let spec = extract_spec(1..=25, 8)
            .new_tree(&mut runner)
            .expect("extract")
            .current();
        let dates = dates_spec(1..=3, true)
            .new_tree(&mut runner)
            .expect("dates")
            .current()
            .dates();
        let raw = Ctx::new(&plan, &dates).resolve(&spec);
        let f = format(&mut runner, tried);
        if write_case(&dir, &plan, &raw, &dates, f) {
            written += 1;
            ties += usize::from(reorder::order_sensitive(&raw));
        }
    }
    // Same-day records with different values (the `latest` tie-break) must be among the cases.
    assert!(ties > 0, "no case has a tie for the tie-break to decide");
    compare(root.path(), written);
    if std::env::var_os("RXSCAN_SQL_KEEP").is_some() {
        let _ = root.keep();
    }
}

#[test]
#[ignore = "needs Python and DuckDB: .ci/install-engines.sh, then .ci/sql-engines.sh"]
fn pincer_random_extracts_sql_equals_engine() {
    let root = tempfile::tempdir().expect("tempdir");
    let mut runner = TestRunner::deterministic();
    let (mut written, mut ties) = (0, 0);
    for i in 0..cases(30) {
        let case = pincer_cases::pincer_case(1..=40)
            .new_tree(&mut runner)
            .expect("case")
            .current();
        let plan = pincer_cases::pincer_with(case.params);
        let (dates, raw) = pincer_cases::pincer_raw(&case);
        let f = format(&mut runner, i);
        if write_case(
            &root.path().join(format!("pincer-{i:03}")),
            plan,
            &raw,
            &dates,
            f,
        ) {
            written += 1;
            ties += usize::from(reorder::order_sensitive(&raw));
        }
    }
    assert!(ties > 0, "no case has a tie for the tie-break to decide");
    compare(root.path(), written);
}
