//! The checks the property tests share: two outcomes agree (with a readable list of their
//! differences), one outcome's counts are consistent, and results are laid out as documented.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rxscan_core::results::Results;

use crate::reference::{Outcome, RawExtract};

fn diff_map<K: Ord + std::fmt::Debug, V: PartialEq + std::fmt::Debug>(
    name: &str,
    a: &BTreeMap<K, V>,
    b: &BTreeMap<K, V>,
    out: &mut Vec<String>,
) {
    let mut n = 0;
    for (k, v) in a {
        match b.get(k) {
            Some(w) if w == v => {}
            Some(w) => {
                n += 1;
                if n <= 15 {
                    out.push(format!("  {name} {k:?}: engine {v:?}, reference {w:?}"));
                }
            }
            None => {
                n += 1;
                if n <= 15 {
                    out.push(format!("  {name} {k:?}: engine {v:?}, reference (none)"));
                }
            }
        }
    }
    for (k, w) in b {
        if !a.contains_key(k) {
            n += 1;
            if n <= 15 {
                out.push(format!("  {name} {k:?}: engine (none), reference {w:?}"));
            }
        }
    }
    if n > 15 {
        out.push(format!("  ... {} more {name} differences", n - 15));
    }
}

/// A readable list of the differences between two outcomes.
fn diff(a: &Outcome, b: &Outcome) -> String {
    let mut out = Vec::new();
    diff_map("patient", &a.patients, &b.patients, &mut out);
    diff_map("population", &a.population, &b.population, &mut out);
    diff_map("count", &a.counts, &b.counts, &mut out);
    diff_map("composite", &a.composites, &b.composites, &mut out);
    if a.numerator_outside_denominator != b.numerator_outside_denominator {
        out.push(format!(
            "  numerator outside denominator: {:?} vs {:?}",
            a.numerator_outside_denominator, b.numerator_outside_denominator
        ));
    }
    out.join("\n")
}

pub fn agree(
    engine: &Result<Outcome, String>,
    reference: &Result<Outcome, String>,
    what: &str,
) -> Result<(), TestCaseError> {
    match (engine, reference) {
        (Ok(a), Ok(b)) => prop_assert!(
            a == b,
            "{what}: engine and reference disagree\n{}",
            diff(a, b)
        ),
        (Err(_), Err(_)) => {}
        (Ok(_), Err(e)) => prop_assert!(
            false,
            "{what}: the reference fails ({e}) but the engine returns results"
        ),
        (Err(e), Ok(_)) => prop_assert!(
            false,
            "{what}: the engine fails ({e}) but the reference returns results"
        ),
    }
    Ok(())
}

pub fn same(a: &Outcome, b: &Outcome, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(a == b, "{what}\n{}", diff(a, b));
    Ok(())
}

/// Counting invariants of one outcome: numerators within denominators, every denominator
/// within the population, composite histograms adding up to their denominators, and the
/// patient rows adding up to the counts.
pub fn consistent(o: &Outcome) -> Result<(), TestCaseError> {
    prop_assert!(
        o.numerator_outside_denominator.is_empty(),
        "numerator without denominator: {:?}",
        o.numerator_outside_denominator
    );
    let mut from_rows: BTreeMap<(String, String, String), (u64, u64)> = BTreeMap::new();
    for ((date, _, measure), (practice, num)) in &o.patients {
        let e = from_rows
            .entry((date.clone(), practice.clone(), measure.clone()))
            .or_default();
        e.0 += *num as u64;
        e.1 += 1;
    }
    for (k, &(num, den)) in &o.counts {
        prop_assert!(num <= den, "{k:?}: numerator {num} > denominator {den}");
        let pop = o
            .population
            .get(&(k.0.clone(), k.1.clone()))
            .copied()
            .unwrap_or(0);
        prop_assert!(den <= pop, "{k:?}: denominator {den} > population {pop}");
        prop_assert_eq!(
            from_rows.get(k).copied().unwrap_or((0, 0)),
            (num, den),
            "{:?}: patient rows do not add up to the counts",
            k
        );
    }
    for (k, (den, hist)) in &o.composites {
        let pop = o
            .population
            .get(&(k.0.clone(), k.1.clone()))
            .copied()
            .unwrap_or(0);
        prop_assert!(
            *den <= pop,
            "{k:?}: composite denominator {den} > population {pop}"
        );
        prop_assert_eq!(
            hist.iter().sum::<u64>(),
            *den,
            "{:?}: histogram {:?} does not add up to the denominator",
            k,
            hist
        );
    }
    Ok(())
}

/// The documented layout of results: patient ids ascending, practices in their documented
/// order (numeric when every id is digits, else text; ids trimmed), patient rows sorted by
/// date, patient and measure.
pub fn layout(r: &Results, raw: &RawExtract) -> Result<(), TestCaseError> {
    let mut ids: Vec<i64> = raw.patients.iter().map(|p| p.id).collect();
    ids.sort_unstable();
    prop_assert_eq!(&r.patient_ids, &ids);
    let mut practices: Vec<String> = raw
        .registrations
        .iter()
        .map(|r| r.practice.trim().to_string())
        .collect();
    practices.sort();
    practices.dedup();
    if practices
        .iter()
        .all(|p| !p.is_empty() && p.len() < 19 && p.bytes().all(|b| b.is_ascii_digit()))
    {
        practices.sort_by_key(|p| (p.parse::<u64>().expect("digits"), p.clone()));
    }
    prop_assert_eq!(&r.practices, &practices);
    prop_assert!(
        r.patient_rows
            .windows(2)
            .all(|w| (w[0].date, w[0].patient, w[0].measure)
                < (w[1].date, w[1].patient, w[1].measure)),
        "patient rows out of order"
    );
    Ok(())
}
