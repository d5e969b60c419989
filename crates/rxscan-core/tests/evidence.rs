//! Evidence on the hand-made boundary patients (`testdata/boundaries/`): the rows each flag
//! names are the ones INDICATORS.md says put the patient in the numerator (worked by hand
//! below from each folder's README and CSV files, not from the engine's output), an absence
//! names what was searched and the last row before the window, and the trace's verdict equals
//! the counting pass's for every patient, date and measure of every folder.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use rxscan_core::dates;
use rxscan_core::eval::EvalOptions;
use rxscan_core::evidence::{for_flagged, Flagged, Row, Tracer};
use rxscan_core::{IndexDates, Scan};

type RowKey = (String, String, String, Option<String>, String);

fn key(r: &Row) -> RowKey {
    (
        r.table.name().to_string(),
        dates::format_iso(r.date),
        r.code.to_string(),
        r.value.map(|v| v.to_string()),
        r.comparator.to_string(),
    )
}

fn scan(folder: &str, date: &str) -> (Scan, rxscan_core::extract::Extract) {
    let day = IndexDates::parse(date).unwrap();
    let scan = Scan::new(common::pincer(), IndexDates::of([day]).unwrap()).with_evidence();
    let dir = common::repo().join("testdata/boundaries").join(folder);
    let ex = scan.load(&dir).unwrap();
    (scan, ex)
}

fn flagged(folder: &str, date: &str, patient: i64, measure: &str) -> Flagged {
    let (scan, ex) = scan(folder, date);
    let results = scan
        .evaluate(&ex, &EvalOptions { patient_rows: true })
        .unwrap();
    let ev = for_flagged(scan.plan(), scan.history(), &ex, &results).unwrap();
    let m = scan
        .plan()
        .measures
        .iter()
        .position(|x| x.id == measure)
        .unwrap();
    ev.flagged
        .into_iter()
        .find(|f| f.patient_id == patient && f.trace.measure == m)
        .unwrap_or_else(|| panic!("{folder}: patient {patient} not flagged for {measure}"))
}

/// The rows the whole flag names: those of the denominator and of the numerator.
fn rows_named(f: &Flagged) -> BTreeSet<RowKey> {
    f.trace
        .denominator
        .deciding_rows()
        .into_iter()
        .chain(f.trace.numerator.deciding_rows())
        .map(key)
        .collect()
}

fn expect(rows: &[(&str, &str, &str, Option<&str>, &str)]) -> BTreeSet<RowKey> {
    rows.iter()
        .map(|(t, d, c, v, cmp)| {
            (
                t.to_string(),
                d.to_string(),
                c.to_string(),
                v.map(str::to_string),
                cmp.to_string(),
            )
        })
        .collect()
}

#[test]
fn nsaid_without_gastroprotection_names_the_nsaid_and_the_last_ppi() {
    // a, patient 10 at 2020-03-01: omeprazole 2019-11-30 (the day before I-3m = 2019-12-01)
    // and ibuprofen 2020-01-15. Numerator: the ibuprofen issue in W3; the denominator's
    // "no PPI in [2019-12-01, 2020-03-01]" holds, the last PPI before it is the omeprazole.
    let f = flagged("a", "2020-03-01", 10, "a");
    assert_eq!(
        rows_named(&f),
        expect(&[("medications", "2020-01-15", "329653008", None, "")])
    );
    let nsaid = f.trace.numerator.rows.first().unwrap();
    // The term as pincer-nsaid.csv gives it.
    assert_eq!(nsaid.term.as_deref(), Some("Ibuprofen 400mg tablets"));
    let absent = f
        .trace
        .conditions()
        .find(|c| c.value.holds() && c.searched.as_ref().is_some_and(|s| s.codelist == "ppi"))
        .expect("the no-PPI condition");
    assert_eq!(&*absent.text, "not gastroprotected");
    let s = absent.searched.as_ref().unwrap();
    assert_eq!(s.from.map(dates::format_iso).as_deref(), Some("2019-12-01"));
    assert_eq!(s.to.map(dates::format_iso).as_deref(), Some("2020-03-01"));
    let last = absent
        .last_before
        .as_ref()
        .expect("a PPI before the window");
    assert_eq!(
        key(last),
        expect(&[("medications", "2019-11-30", "317291008", None, "")])
            .into_iter()
            .next()
            .unwrap()
    );
    // Patient 1 has no PPI at all: nothing before the window.
    let f = flagged("a", "2020-03-01", 1, "a");
    let absent = f
        .trace
        .conditions()
        .find(|c| &*c.text == "not gastroprotected")
        .unwrap();
    assert!(absent.last_before.is_none());
}

#[test]
fn coprescription_names_both_issues_within_the_gap() {
    // e, patient 2 at 2020-03-01: warfarin 2020-01-01 and aspirin 2020-01-28, 27 days apart
    // (§3.1: at most 27). The denominator's anticoagulant in W3 is the same warfarin issue.
    let f = flagged("e", "2020-03-01", 2, "e");
    assert_eq!(
        rows_named(&f),
        expect(&[
            ("medications", "2020-01-01", "319733000", None, ""),
            ("medications", "2020-01-28", "319773006", None, ""),
        ])
    );
    // e, patient 7: warfarin 2019-12-20 and aspirin 2020-01-10 (21 days, across months).
    let f = flagged("e", "2020-03-01", 7, "e");
    assert_eq!(
        rows_named(&f),
        expect(&[
            ("medications", "2019-12-20", "319733000", None, ""),
            ("medications", "2020-01-10", "319773006", None, ""),
        ])
    );
}

#[test]
fn monitoring_by_absence_names_the_lithium_issues_and_the_last_level_before() {
    // li, patient 11 at 2020-03-01: lithium 2019-10-15 (in W6_3 = [2019-09-01, 2019-12-01])
    // and 2020-01-15 (in W3); a lithium level 2019-11-30, the day before W3 starts.
    let f = flagged("li", "2020-03-01", 11, "li");
    assert_eq!(
        rows_named(&f),
        expect(&[
            ("medications", "2019-10-15", "5577011000001106", None, ""),
            ("medications", "2020-01-15", "5577011000001106", None, ""),
        ])
    );
    let n = &f.trace.numerator;
    assert!(n.value.holds() && n.rows.is_empty());
    let s = n.searched.as_ref().expect("the numerator is an absence");
    assert_eq!(s.codelist, "lith_lev");
    assert_eq!(s.from.map(dates::format_iso).as_deref(), Some("2019-12-01"));
    assert_eq!(s.to.map(dates::format_iso).as_deref(), Some("2020-03-01"));
    let last = n.last_before.as_ref().expect("the level of 2019-11-30");
    assert_eq!(
        (dates::format_iso(last.date), &*last.code),
        ("2019-11-30".to_string(), "1006681000000100")
    );
    // li, patient 19 at 2021-01-01: the level of 2020-09-30 is the day before I2-3m.
    let f = flagged("li", "2021-01-01", 19, "li");
    let last = f.trace.numerator.last_before.as_ref().unwrap();
    assert_eq!(dates::format_iso(last.date), "2020-09-30");
}

#[test]
fn latest_value_with_comparator_names_that_record() {
    // k, patient 4 at 2020-03-01: eGFR "<30" on 2019-06-01 (the latest on or before I-3m) is
    // low; ibuprofen 2020-01-15 in W3.
    let f = flagged("k", "2020-03-01", 4, "k");
    assert_eq!(
        rows_named(&f),
        expect(&[
            (
                "clinical_events",
                "2019-06-01",
                "1011481000000105",
                Some("30"),
                "<"
            ),
            ("medications", "2020-01-15", "329653008", None, ""),
        ])
    );
    // Patient 1: "=44".
    let f = flagged("k", "2020-03-01", 1, "k");
    assert!(rows_named(&f).contains(&(
        "clinical_events".into(),
        "2019-06-01".into(),
        "1011481000000105".into(),
        Some("44".into()),
        "=".into()
    )));
}

/// The trace's verdict equals the counting pass's for every patient, date and measure of every
/// boundary folder (patients outside every denominator included).
#[test]
fn the_trace_agrees_with_the_evaluator_on_every_boundary_fixture() {
    let root = common::repo().join("testdata/boundaries");
    let mut checked = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue; // to_toml.py, the script that converted these folders to rules/pincer/tests
        }
        let expected = csv::Reader::from_path(dir.join("expected.csv"))
            .unwrap()
            .records()
            .map(|r| r.unwrap()[0].to_string())
            .collect::<BTreeSet<String>>();
        for date in expected {
            let day = IndexDates::parse(&date).unwrap();
            let scan = Scan::new(common::pincer(), IndexDates::of([day]).unwrap()).with_evidence();
            let ex = scan.load(&dir).unwrap();
            let results = scan
                .evaluate(&ex, &EvalOptions { patient_rows: true })
                .unwrap();
            let fast: BTreeMap<(u32, u32), bool> = results
                .patient_rows
                .iter()
                .map(|f| ((f.patient, f.measure), f.numerator))
                .collect();
            let tracer = Tracer::new(scan.plan(), &ex, scan.history());
            let all: Vec<usize> = (0..scan.plan().measures.len()).collect();
            for p in 0..ex.n_patients() {
                // Every operand evaluated (`rxscan why`) and only the deciding ones (evidence).
                let full = tracer.patient(p, day, &all).unwrap();
                for m in 0..scan.plan().measures.len() {
                    let t = tracer.measure(p, day, m).unwrap();
                    let f = &full.measures[m];
                    assert_eq!(
                        (f.in_denominator, f.in_numerator),
                        (t.in_denominator, t.in_numerator)
                    );
                    let got = t.in_denominator.then_some(t.in_numerator);
                    assert_eq!(
                        got,
                        fast.get(&(p as u32, m as u32)).copied(),
                        "{} {date} patient {} measure {}",
                        dir.display(),
                        ex.patient_ids[p],
                        scan.plan().measures[m].id
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 1000, "only {checked} verdicts checked");
}

/// The last row before a window comes from the whole record, without the loader keeping the
/// record: the li folder's patient 2 (lithium in both periods, no level in W3 =
/// 2019-12-01..2020-03-01) given old levels out of date order, three of them on 2016-07-20. By
/// hand: the latest before 2019-12-01 is 2016-07-20, and of that day's rows the first in the
/// file (code 1006681000000100, value 0.5). Read in one piece, the loader keeps that one row of
/// patient 2's levels, set apart from the rows counting reads (one per patient and feature
/// before the windows; both codes are in `lith_lev`); read a line or two per chunk (a patient's rows spread over many pieces) the
/// same row is named; and the level of patient 11 on 2019-11-30 (one day before W3) is named
/// as before.
#[test]
fn the_last_row_before_the_window_is_the_records_latest() {
    let day = IndexDates::parse("2020-03-01").unwrap();
    let dir = copy_of("testdata/boundaries/li");
    let events = dir.path().join("clinical_events.csv");
    let mut text = std::fs::read_to_string(&events).unwrap();
    text.push_str(
        "2,2016-07-20,1006681000000100,0.5,\n\
         11,2010-01-01,1006681000000100,1.1,\n\
         2,2012-05-01,1006681000000100,0.9,\n\
         2,2016-07-20,1006681000000100,0.7,\n\
         2,2016-07-20,166958001,0.3,\n\
         2,2014-02-02,166958001,,\n",
    );
    std::fs::write(&events, text).unwrap();
    let scan = Scan::new(common::pincer(), IndexDates::of([day]).unwrap()).with_evidence();
    let m = scan
        .plan()
        .measures
        .iter()
        .position(|x| x.id == "li")
        .unwrap();
    for chunks in [None, Some((64, 16))] {
        let opts = rxscan_core::extract::LoadOptions {
            csv_window_and_chunk: chunks,
            ..scan.load_options().clone()
        };
        let ex = rxscan_core::extract::Extract::load(dir.path(), &opts).unwrap();
        let tracer = Tracer::new(scan.plan(), &ex, scan.history());
        let last = |id: i64| {
            let t = tracer
                .measure(tracer.patient_index(id).unwrap(), day, m)
                .unwrap();
            assert!(t.in_numerator, "patient {id} is flagged for li");
            t.numerator.last_before.map(|r| {
                let code = r.code.to_string();
                (dates::format_iso(r.date), code, r.value)
            })
        };
        let want = ("2016-07-20".to_string(), "1006681000000100".to_string());
        assert_eq!(last(2), Some((want.0, want.1, Some(0.5))), "{chunks:?}");
        assert_eq!(
            last(11).map(|(d, ..)| d).as_deref(),
            Some("2019-11-30"),
            "{chunks:?}"
        );
        if chunks.is_none() {
            let main = &ex.clinical_events;
            let p = tracer.patient_index(2).unwrap();
            assert!(main.rows(p).is_empty(), "no level of patient 2 is counted");
            let set_apart = main.earlier.as_deref().expect("earlier rows set apart");
            let e = &set_apart.of_patients(&vec![true; ex.n_patients()], &main.codes);
            let rows: BTreeSet<(String, String)> = (e.offsets[p]..e.offsets[p + 1])
                .map(|i| {
                    let code = e.codes[e.code[i] as usize].clone();
                    (dates::format_iso(e.day[i]), code)
                })
                .collect();
            let expected: BTreeSet<(String, String)> =
                [("2016-07-20".to_string(), "1006681000000100".to_string())].into();
            assert_eq!(rows, expected);
            assert_eq!(e.offsets[p + 1] - e.offsets[p], 1);
        }
    }
}

/// What a flagged patient must have been prescribed, read from the rule (worked by hand from
/// INDICATORS.md and the pack): li needs lithium issued (pincer-lith) in both periods; ac needs
/// an ACE inhibitor or a loop diuretic issued twice (its `false` branch, literal precedence
/// off, needs nothing); a needs an oral NSAID (its "no PPI" requires nothing); g needs a
/// beta-blocker; b's denominator needs none. The gate of the clinical events' history is the codes of those measures
/// whose conditions read clinical-event history: g (asthma resolved), k (eGFR), ac (renal and
/// electrolyte tests), me_no_fbc and me_no_lft (FBC, LFT), li (lithium level), am (TFT): so
/// beta-blockers, NSAIDs (k), ACE inhibitors and loop diuretics, methotrexate, lithium and
/// amiodarone; a to f and i read no clinical-event history and add nothing.
#[test]
fn the_history_gate_is_what_a_flagged_patient_must_have_been_prescribed() {
    use rxscan_core::scan::rows::prescribed;
    let plan = common::pincer();
    let names = |m: &str| -> Vec<&str> {
        let measure = plan.measures.iter().find(|x| x.id == m).unwrap();
        let lists = prescribed(&plan, &measure.numerator).expect("a prescription");
        lists
            .iter()
            .map(|&c| plan.codelists[c].name.as_str())
            .collect()
    };
    assert_eq!(names("li"), ["lith"]);
    assert_eq!(names("ac"), ["acei", "diur"]);
    assert_eq!(names("a"), ["nsaid"]);
    assert_eq!(names("g"), ["nsbb"]);
    // b's denominator (a peptic ulcer or GI bleed recorded, no PPI) needs no prescription: an
    // `or` of clinical events, and a `not`.
    let b = plan.measures.iter().find(|x| x.id == "b").unwrap();
    assert_eq!(prescribed(&plan, &b.denominator), None);
    assert_eq!(prescribed(&plan, &plan.population), None);
    let day = IndexDates::parse("2020-03-01").unwrap();
    let scan = Scan::new(plan.clone(), IndexDates::of([day]).unwrap()).with_evidence();
    let gate: BTreeSet<&str> = scan
        .load_options()
        .history_gate
        .as_ref()
        .expect("a gate")
        .iter()
        .map(String::as_str)
        .collect();
    let codes = |lists: &[&str]| -> BTreeSet<&str> {
        lists
            .iter()
            .flat_map(|n| &plan.codelists.iter().find(|c| c.name == *n).unwrap().codes)
            .map(String::as_str)
            .collect()
    };
    assert_eq!(
        gate,
        codes(&["nsbb", "nsaid", "acei", "diur", "met", "lith", "amio"])
    );
    // `rxscan why` traces any patient: no gate.
    let why = Scan::new(plan, IndexDates::of([day]).unwrap()).with_all_history();
    assert_eq!(why.load_options().history_gate, None);
}

/// The gate at work on the li folder: patient 21, registered like the others but never issued
/// lithium, has old lithium levels (2015, 2017); none is set apart, since no numerator can
/// hold for them. Patient 2 (flagged for li, levels 2012 and 2016-07-20) has its latest set
/// apart and named, as without the gate. Both on one piece and on many.
#[test]
fn history_is_gathered_only_for_patients_a_numerator_can_hold_for() {
    let day = IndexDates::parse("2020-03-01").unwrap();
    let dir = copy_of("testdata/boundaries/li");
    let append = |file: &str, rows: &str| {
        let path = dir.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap() + rows;
        std::fs::write(&path, text).unwrap();
    };
    append("patients.csv", "21,1970-06-01,F,\n");
    append("practice_registrations.csv", "21,2000-01-01,,1\n");
    append(
        "clinical_events.csv",
        "21,2015-03-03,1006681000000100,0.6,\n\
         2,2012-05-01,1006681000000100,0.9,\n\
         21,2017-04-04,1006681000000100,0.8,\n\
         2,2016-07-20,1006681000000100,0.5,\n",
    );
    let scan = Scan::new(common::pincer(), IndexDates::of([day]).unwrap()).with_evidence();
    for chunks in [None, Some((64, 16))] {
        let opts = rxscan_core::extract::LoadOptions {
            csv_window_and_chunk: chunks,
            ..scan.load_options().clone()
        };
        let ex = rxscan_core::extract::Extract::load(dir.path(), &opts).unwrap();
        let main = &ex.clinical_events;
        let set_apart = main.earlier.as_deref().expect("earlier rows set apart");
        let all = set_apart.of_patients(&vec![true; ex.n_patients()], &main.codes);
        let index = |id: i64| ex.patient_ids.binary_search(&id).unwrap();
        let (p2, p21) = (index(2), index(21));
        assert!(all.rows(p21).is_empty(), "{chunks:?}: patient 21 has none");
        let days: BTreeSet<String> = all
            .rows(p2)
            .map(|i| dates::format_iso(all.day[i]))
            .collect();
        assert!(days.contains("2016-07-20"), "{chunks:?}: {days:?}");
        assert!(days.iter().all(|d| d.as_str() <= "2016-07-20"), "{days:?}");
        // Without the gate (what `rxscan why` loads for history), patient 21's are there.
        let ungated = rxscan_core::extract::LoadOptions {
            history_gate: None,
            ..opts.clone()
        };
        let ex = rxscan_core::extract::Extract::load(dir.path(), &ungated).unwrap();
        let main = &ex.clinical_events;
        let set_apart = main.earlier.as_deref().expect("earlier rows set apart");
        let all = set_apart.of_patients(&vec![true; ex.n_patients()], &main.codes);
        let latest = all.rows(p21).map(|i| dates::format_iso(all.day[i])).max();
        assert_eq!(latest.as_deref(), Some("2017-04-04"), "{chunks:?}");
    }
}

/// A copy of a folder of the repository, to add rows to.
fn copy_of(folder: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(common::repo().join(folder)).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.path().join(f.file_name().unwrap())).unwrap();
    }
    dir
}
