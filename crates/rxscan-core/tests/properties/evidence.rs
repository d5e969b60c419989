//! Evidence on random extracts for the PINCER pack: the trace gives the counting pass's
//! verdict for every patient, date and measure; every row a flag names (matched or last before
//! a window) is a row of the input for that patient; and where a condition holds because
//! nothing was found, the row named as last before the window is the input's last matching
//! row before it, from the whole record (the loader kept only each patient's latest rows before
//! the windows, piece by piece).

use std::collections::BTreeMap;

use proptest::prelude::*;
use rxscan_core::dates;
use rxscan_core::eval::EvalOptions;
use rxscan_core::evidence::{for_flagged, Row, Tracer};
use rxscan_core::plan::Table;
use rxscan_core::{IndexDates, Scan};

use crate::config::config;
use crate::pincer_cases::{pincer_case, pincer_raw, pincer_with};
use crate::reference::{iso, RawExtract};
use crate::reorder::shuffle_all;
use crate::writers::write_extract;

fn input_rows(raw: &RawExtract, t: Table, patient: i64) -> Vec<&crate::reference::Row> {
    let rows = match t {
        Table::Medications => &raw.medications,
        Table::ClinicalEvents => &raw.clinical_events,
    };
    rows.iter().filter(|r| r.patient_id == patient).collect()
}

fn in_input(raw: &RawExtract, patient: i64, r: &Row) -> bool {
    input_rows(raw, r.table, patient).iter().any(|x| {
        iso(x.date) == dates::format_iso(r.date)
            && x.code.trim() == &*r.code
            && x.value == r.value
            && x.comparator.trim() == r.comparator
    })
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn evidence_agrees_with_the_evaluator_and_names_input_rows(case in pincer_case(1..=40)) {
        let plan = pincer_with(case.params);
        let (dates, mut raw) = pincer_raw(&case);
        if let Some(seed) = case.shuffle {
            shuffle_all(&mut raw, seed);
        }
        let dir = tempfile::tempdir().expect("tempdir");
        write_extract(&raw, dir.path(), case.format);
        let days: Vec<i32> = dates
            .iter()
            .map(|&d| dates::parse_iso(&iso(d)).expect("a date"))
            .collect();
        let scan = Scan::new(plan.clone(), IndexDates::any_days(days.clone()).expect("dates"))
            .with_evidence();
        // A shuffled CSV extract is read a line or two per chunk, so that one patient's rows
        // are spread over many pieces, each keeping its own latest rows before the windows.
        let opts = rxscan_core::extract::LoadOptions {
            csv_window_and_chunk: case.shuffle.map(|_| (64, 16)),
            ..scan.load_options().clone()
        };
        let ex = rxscan_core::extract::Extract::load(dir.path(), &opts)
            .expect("the generated extract loads");
        let Ok(results) = scan.evaluate(&ex, &EvalOptions { patient_rows: true }) else {
            // An index date the plan cannot be evaluated at: nothing to explain.
            return Ok(());
        };
        let fast: BTreeMap<(u32, u32, u32), bool> = results
            .patient_rows
            .iter()
            .map(|f| ((f.date, f.patient, f.measure), f.numerator))
            .collect();
        let tracer = Tracer::new(scan.plan(), &ex, scan.history());
        for (d, &day) in results.index_dates.iter().enumerate() {
            for p in 0..ex.n_patients() {
                for m in 0..plan.measures.len() {
                    let t = tracer.measure(p, day, m).expect("traced");
                    let got = t.in_denominator.then_some(t.in_numerator);
                    prop_assert_eq!(
                        got,
                        fast.get(&(d as u32, p as u32, m as u32)).copied(),
                        "patient {} at {} measure {}",
                        ex.patient_ids[p],
                        dates::format_iso(day),
                        &plan.measures[m].id
                    );
                }
            }
        }
        let evidence = for_flagged(scan.plan(), scan.history(), &ex, &results).expect("evidence");
        prop_assert_eq!(
            evidence.flagged.len(),
            results.patient_rows.iter().filter(|f| f.numerator).count()
        );
        for f in &evidence.flagged {
            for c in f.trace.conditions() {
                for r in c.rows.iter().chain(&c.last_before) {
                    prop_assert!(
                        in_input(&raw, f.patient_id, r),
                        "patient {}: {:?} named by `{}` is not in the input",
                        f.patient_id,
                        r,
                        c.text
                    );
                }
                // An absence: the last row before the window is the input's.
                let nothing = c.deciding_rows().is_empty();
                let (Some(s), true) = (&c.searched, c.value.holds() && nothing) else {
                    continue;
                };
                let Some(from) = s.from else { continue };
                let lists: Vec<&rxscan_core::plan::Codelist> = s
                    .codelist
                    .split(" + ")
                    .map(|n| plan.codelists.iter().find(|l| l.name == n).expect("a codelist"))
                    .collect();
                let before = dates::format_iso(from);
                let matching: Vec<&crate::reference::Row> = lists
                    .iter()
                    .flat_map(|l| {
                        input_rows(&raw, l.table, f.patient_id)
                            .into_iter()
                            .filter(|x| l.codes.iter().any(|c| c == x.code.trim()))
                    })
                    .filter(|x| iso(x.date) < before)
                    .collect();
                let last = matching.iter().map(|x| iso(x.date)).max();
                prop_assert_eq!(
                    c.last_before.as_ref().map(|r| dates::format_iso(r.date)),
                    last.clone(),
                    "patient {}: `{}`",
                    f.patient_id,
                    c.text
                );
                // Of that day's rows, the first in the file (lists of one table: the order
                // of two tables' rows is not one file's).
                if lists.iter().all(|l| l.table == lists[0].table) {
                    let first = matching
                        .iter()
                        .filter(|x| Some(iso(x.date)) == last)
                        .min_by_key(|x| {
                            input_rows(&raw, lists[0].table, f.patient_id)
                                .iter()
                                .position(|y| std::ptr::eq(*y, **x))
                        });
                    let named = c.last_before.as_ref();
                    prop_assert_eq!(
                        named.map(|r| (r.code.to_string(), r.value, r.comparator.to_string())),
                        first.map(|x| (x.code.trim().to_string(), x.value, x.comparator.trim().to_string())),
                        "patient {}: `{}`",
                        f.patient_id,
                        c.text
                    );
                }
            }
        }
    }
}
