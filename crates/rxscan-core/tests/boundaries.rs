//! Every PINCER measure on hand-made patients at every boundary INDICATORS.md names.
//!
//! The fixtures in `testdata/boundaries/<measure>/` were written from the specification by hand
//! (their README.md gives the reasoning per case); `expected.csv` holds the denominator and
//! numerator each case must get. Nothing here is derived from the engine's own output.

mod common;

use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, serde::Deserialize)]
struct Expected {
    index_date: String,
    patient_id: i64,
    measure: String,
    denominator: bool,
    numerator: bool,
    case: String,
}

fn check_folder(name: &str) {
    let dir = common::repo().join("testdata/boundaries").join(name);
    let plan = common::pincer();
    let mut rdr = csv::Reader::from_path(dir.join("expected.csv")).expect("expected.csv");
    let expected: Vec<Expected> = rdr
        .deserialize()
        .map(|r| r.expect("expected.csv row"))
        .collect();
    assert!(!expected.is_empty(), "{name}: no expectations");
    let dates: BTreeSet<&str> = expected.iter().map(|e| e.index_date.as_str()).collect();
    let dates: Vec<&str> = dates.into_iter().collect();
    let results = common::scan(&plan, &dir, &dates);
    let flags = common::patient_flags(&results);
    let mut failures = Vec::new();
    for e in &expected {
        assert!(
            plan.measure(&e.measure).is_some(),
            "{name}: unknown measure {}",
            e.measure
        );
        let got = flags.get(&(e.index_date.clone(), e.patient_id, e.measure.clone()));
        let (den, num) = (got.is_some(), got.is_some_and(|g| g.1));
        if (den, num) != (e.denominator, e.numerator) {
            failures.push(format!(
                "{} patient {} measure {}: expected den={} num={}, got den={den} num={num}  [{}]",
                e.index_date, e.patient_id, e.measure, e.denominator, e.numerator, e.case
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{name}: {} of {} cases wrong:\n{}",
        failures.len(),
        expected.len(),
        failures.join("\n")
    );
}

macro_rules! boundary_tests {
    ($($name:ident),*) => { $( #[test] fn $name() { check_folder(stringify!($name)); } )* };
}

boundary_tests!(base, a, b, c, d, e, f, g, i, k, ac, me, li, am);

/// Practice attribution (INDICATORS.md §2.7): the registration current on I; several current:
/// latest start, then latest end (ongoing latest), then first in file order.
#[test]
fn base_practice_attribution() {
    #[derive(serde::Deserialize)]
    struct Row {
        index_date: String,
        patient_id: i64,
        practice_pseudo_id: String,
        case: String,
    }
    let dir = common::repo().join("testdata/boundaries/base");
    let rows: Vec<Row> = csv::Reader::from_path(dir.join("expected_practice.csv"))
        .expect("file")
        .deserialize()
        .map(|r| r.expect("row"))
        .collect();
    assert!(!rows.is_empty());
    let dates: BTreeSet<&str> = rows.iter().map(|r| r.index_date.as_str()).collect();
    let results = common::scan(
        &common::pincer(),
        &dir,
        &dates.into_iter().collect::<Vec<_>>(),
    );
    let flags = common::patient_flags(&results);
    for r in &rows {
        // `d`'s denominator in this folder is the base population (see its README).
        let got = flags
            .iter()
            .find(|((d, p, _), _)| d == &r.index_date && *p == r.patient_id)
            .map(|(_, v)| v.0.clone());
        assert_eq!(
            got.as_deref(),
            Some(r.practice_pseudo_id.as_str()),
            "{} patient {}: {}",
            r.index_date,
            r.patient_id,
            r.case
        );
    }
}

// --- The same fixtures as the pack's own tests (`rules/pincer/tests/*.toml`, `rxscan test`) ---

use rxscan_core::compile::CompileOptions;
use rxscan_core::packs::Pack;
use rxscan_core::ruletest::{self, Outcome};

/// Every `(index date, patient, measure)` expectation of `testdata/boundaries/*/expected.csv`
/// (361) and every expected practice of `base/expected_practice.csv` (22): the counts the
/// converted test files must carry.
const BOUNDARY_EXPECTATIONS: usize = 361;
const BOUNDARY_PRACTICES: usize = 22;

/// `rxscan test --rules rules/pincer`, through the library: every test file holds.
#[test]
fn the_pincer_pack_passes_its_own_tests() {
    let pack = Pack::Dir(common::repo().join("rules/pincer"));
    let report = ruletest::run(&pack, &CompileOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.passed(), "{}", report.render());
    assert_eq!(report.files.len(), 14, "one test file per boundary folder");
    assert_eq!(
        report.expectations(),
        BOUNDARY_EXPECTATIONS + BOUNDARY_PRACTICES
    );
}

/// The built-in pack carries the same tests (`rxscan test` with no `--rules`).
#[test]
fn the_built_in_pack_passes_its_own_tests() {
    let report = ruletest::run(&Pack::BuiltinPincer, &CompileOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.passed(), "{}", report.render());
    assert_eq!(
        report.expectations(),
        BOUNDARY_EXPECTATIONS + BOUNDARY_PRACTICES
    );
}

/// The conversion (`testdata/boundaries/to_toml.py`) lost nothing: each test file, written
/// out as the extract the runner scans, has the rows of its boundary folder (each patient's
/// rows in the same order), and its expectations are those of `expected.csv` and
/// `expected_practice.csv`, unchanged.
#[test]
fn the_converted_tests_carry_every_boundary_row_and_expectation() {
    let pack = Pack::Dir(common::repo().join("rules/pincer"));
    let suite = ruletest::read_suite(&pack, &common::pincer()).unwrap_or_else(|e| panic!("{e}"));
    let (mut measures, mut practices) = (0, 0);
    for file in &suite.files {
        let name = file.path.file_stem().expect("name").to_string_lossy();
        let folder = common::repo().join("testdata/boundaries").join(&*name);
        let dir = tempfile::tempdir().expect("tempdir");
        ruletest::write_extract(&file.patients, dir.path()).expect("write");
        for table in [
            "patients",
            "practice_registrations",
            "medications",
            "clinical_events",
        ] {
            let csv_name = format!("{table}.csv");
            assert_eq!(
                by_patient(&dir.path().join(&csv_name)),
                by_patient(&folder.join(&csv_name)),
                "{name}: {table}"
            );
        }
        let want: BTreeSet<(String, i64, String, bool, bool)> = read_expected(&folder)
            .into_iter()
            .map(|e| {
                (
                    e.index_date,
                    e.patient_id,
                    e.measure,
                    e.denominator,
                    e.numerator,
                )
            })
            .collect();
        let mut got = BTreeSet::new();
        let mut got_practices = BTreeSet::new();
        for p in &file.patients {
            let date = rxscan_core::dates::format_iso(p.index_date);
            for e in &p.expect {
                let (den, num) = match e.outcome {
                    Outcome::Numerator => (true, true),
                    Outcome::Denominator => (true, false),
                    Outcome::Excluded => (false, false),
                };
                got.insert((date.clone(), p.id, e.measure.clone(), den, num));
            }
            if let Some((practice, _)) = &p.expect_practice {
                got_practices.insert((date.clone(), p.id, practice.clone()));
            }
        }
        assert_eq!(got, want, "{name}: expectations");
        measures += got.len();
        let practice_file = folder.join("expected_practice.csv");
        let want_practices: BTreeSet<(String, i64, String)> = if practice_file.exists() {
            csv::Reader::from_path(&practice_file)
                .expect("file")
                .records()
                .map(|r| {
                    let r = r.expect("row");
                    (
                        r[0].to_string(),
                        r[1].parse().expect("id"),
                        r[2].to_string(),
                    )
                })
                .collect()
        } else {
            BTreeSet::new()
        };
        assert_eq!(got_practices, want_practices, "{name}: practices");
        practices += got_practices.len();
    }
    assert_eq!(
        (measures, practices),
        (BOUNDARY_EXPECTATIONS, BOUNDARY_PRACTICES)
    );
    let folders = std::fs::read_dir(common::repo().join("testdata/boundaries"))
        .expect("boundaries")
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().is_dir()))
        .count();
    assert_eq!(
        suite.files.len(),
        folders,
        "a test file per boundary folder"
    );
}

/// A table's rows grouped by patient id (the first field), each patient's rows in file order.
fn by_patient(path: &std::path::Path) -> BTreeMap<String, Vec<Vec<String>>> {
    let mut out: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    let mut rdr = csv::Reader::from_path(path).expect("table");
    let header: Vec<String> = rdr
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    for r in rdr.records() {
        let r = r.expect("row");
        let row: Vec<String> = header
            .iter()
            .zip(r.iter())
            .map(|(h, v)| format!("{h}={v}"))
            .collect();
        out.entry(r[0].to_string()).or_default().push(row);
    }
    out
}

fn read_expected(folder: &std::path::Path) -> Vec<Expected> {
    csv::Reader::from_path(folder.join("expected.csv"))
        .expect("expected.csv")
        .deserialize()
        .map(|r| r.expect("expected.csv row"))
        .collect()
}
