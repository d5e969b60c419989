//! Shared helpers for the integration tests: paths, compiling the shipped pack, running a scan;
//! the pack's measure ids and codelist names are in [`pincer`].
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use rxscan_core::compile::{compile_dir, CompileOptions};
use rxscan_core::dates;
use rxscan_core::eval::EvalOptions;
use rxscan_core::plan::Plan;
use rxscan_core::results::Results;
use rxscan_core::{IndexDates, Scan};

pub mod pincer;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn pincer() -> Plan {
    match compile_dir(&repo().join("rules/pincer"), &CompileOptions::default()) {
        Ok(c) => c.plan,
        Err(e) => panic!("the shipped pack must compile:\n{}", e.render(false)),
    }
}

pub fn scan(plan: &Plan, data: &std::path::Path, index_dates: &[&str]) -> Results {
    let days = index_dates
        .iter()
        .map(|d| IndexDates::parse(d).expect("an index date"));
    // As `rxscan scan` loads: only the rows some window can see at these dates.
    let scan = Scan::new(plan.clone(), IndexDates::of(days).expect("index dates"));
    let ex = scan.load(data).unwrap_or_else(|e| panic!("{e}"));
    scan.evaluate(&ex, &EvalOptions { patient_rows: true })
        .unwrap_or_else(|e| panic!("{e}"))
}

/// (index_date, patient_id, measure) -> (practice, numerator) for every denominator row.
pub fn patient_flags(r: &Results) -> BTreeMap<(String, i64, String), (String, bool)> {
    r.patient_rows
        .iter()
        .map(|f| {
            (
                (
                    dates::format_iso(r.index_dates[f.date as usize]),
                    r.patient_ids[f.patient as usize],
                    r.measures[f.measure as usize].clone(),
                ),
                (r.practices[f.practice as usize].clone(), f.numerator),
            )
        })
        .collect()
}
