//! The shipped pack is the specified one: its composites (INDICATORS.md §5) and its features
//! (§3), against the names and windows in `tests/common/pincer.rs`.

use rxscan_core::plan::Table;

use crate::common::pincer as spec;
use crate::pincer_cases::pincer;

/// The composites of the shipped pack are those of INDICATORS.md §5.
#[test]
fn pincer_composites_are_the_specified_ones() {
    let plan = pincer();
    let members = |id: &str| -> Vec<&str> {
        let c = plan
            .composites
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no composite {id}"));
        c.members
            .iter()
            .map(|&m| plan.measures[m].id.as_str())
            .collect()
    };
    for (id, expected) in spec::COMPOSITES {
        assert_eq!(members(id), expected, "composite {id}");
    }
    assert_eq!(plan.composites.len(), spec::COMPOSITES.len());
}

/// The features of the shipped pack are exactly the building blocks of INDICATORS.md §3
/// (codelist, table and window), so agreeing with the reference over the Plan means agreeing
/// with the specification's windows.
#[test]
fn pincer_features_are_the_specified_ones() {
    use rxscan_core::plan::{Feature, Offset, Window};
    let plan = pincer();
    let at = |months: i32| Some(Offset { months, days: 0 });
    let as_window = |(start, end): spec::Months| Window {
        start: start.and_then(at),
        end: at(end),
    };
    let name = |i: usize| plan.codelists[i].name.as_str();
    let mut described: Vec<String> = plan
        .features
        .iter()
        .map(|f| match *f {
            Feature::Has { codelist, window } => format!("has {} {window:?}", name(codelist)),
            Feature::Latest { codelist, window } => format!("latest {} {window:?}", name(codelist)),
            Feature::Within {
                a,
                b,
                max_gap_days,
                window,
            } => format!("within {} {} {max_gap_days} {window:?}", name(a), name(b)),
        })
        .collect();
    let mut expected: Vec<String> = spec::HAS
        .iter()
        .map(|&(c, w)| format!("has {c} {:?}", as_window(w)))
        .chain(
            spec::LATEST
                .iter()
                .map(|&(c, w)| format!("latest {c} {:?}", as_window(w))),
        )
        .chain(
            spec::WITHIN
                .iter()
                .map(|&(a, b, gap, w)| format!("within {a} {b} {gap} {:?}", as_window(w))),
        )
        .collect();
    described.sort();
    expected.sort();
    assert_eq!(described, expected);
    for c in &plan.codelists {
        let medication = spec::MEDICATION_CODELISTS.contains(&c.name.as_str());
        assert_eq!(
            c.table,
            if medication {
                Table::Medications
            } else {
                Table::ClinicalEvents
            },
            "{}",
            c.name
        );
        assert!(
            c.path.ends_with(&spec::codelist_file(&c.name)),
            "{} reads {}",
            c.name,
            c.path
        );
    }
}
