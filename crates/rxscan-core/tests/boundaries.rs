//! Every PINCER measure on hand-made patients at every boundary INDICATORS.md names.
//!
//! The fixtures in `testdata/boundaries/<measure>/` were written from the specification by hand
//! (their README.md gives the reasoning per case); `expected.csv` holds the denominator and
//! numerator each case must get. Nothing here is derived from the engine's own output.

mod common;

use std::collections::BTreeSet;

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
