//! The loader's predicate push-down (`LoadOptions::for_plan_at`) and its fast path, on
//! hand-made extracts whose kept rows are worked out by hand from the windows.

use std::path::Path;

use rxscan_core::compile::{compile_sources, CompileOptions};
use rxscan_core::dates::parse_iso;
use rxscan_core::eval::{evaluate, EvalOptions};
use rxscan_core::extract::{Extract, KeepCode, LoadOptions};
use rxscan_core::plan::Plan;

fn day(s: &str) -> i32 {
    parse_iso(s).expect("valid date")
}

/// One codelist `x` (codes 111 and 222), one measure reading it in `[index - 3 months,
/// index - 1 day]` and one reading code list `y` (333) over the whole history before index.
fn plan(dir: &Path) -> Plan {
    std::fs::write(dir.join("x.csv"), "id\n111\n222\n").expect("write");
    std::fs::write(dir.join("y.csv"), "id\n333\n").expect("write");
    let rules = r#"
codelist x = dmd("x.csv", column: "id")
codelist y = dmd("y.csv", column: "id")
population = registered
measure recent {
  primis = "T1"
  title = "x in the three months before the index date"
  denominator = registered
  numerator = medications.has(x, [index - 3 months, index - 1 days])
  doc = """
    ## What it flags
    test
    ## Why it matters
    test
    ## Definition
    test
    ## References
    test
  """
}
measure ever {
  primis = "T2"
  title = "y ever before the index date"
  denominator = registered
  numerator = medications.has(y, [.., index])
  doc = """
    ## What it flags
    test
    ## Why it matters
    test
    ## Definition
    test
    ## References
    test
  """
}
"#;
    let compiled = compile_sources(
        vec![(dir.join("rules.rx"), rules.to_string())],
        &CompileOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{}", e.render(false)));
    compiled.plan
}

fn extract(dir: &Path, medications: &str) {
    std::fs::write(
        dir.join("patients.csv"),
        "patient_id,date_of_birth,sex\n1,1950-01-01,F\n2,1960-01-01,M\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("practice_registrations.csv"),
        "patient_id,start_date,end_date,practice_pseudo_id\n1,2000-01-01,,7\n2,2000-01-01,,7\n",
    )
    .expect("write");
    std::fs::write(dir.join("medications.csv"), medications).expect("write");
    std::fs::write(
        dir.join("clinical_events.csv"),
        "patient_id,date,snomedct_code,numeric_value\n",
    )
    .expect("write");
}

/// Index dates 2020-03-01 and 2020-05-01: `x` is read in [2019-12-01, 2020-04-30] (the union
/// of [2019-12-01, 2020-02-29] and [2020-02-01, 2020-04-30]); `y` on or before 2020-05-01.
const MEDICATIONS: &str = "patient_id,date,dmd_code
1,2019-11-30,111
1,2019-12-01,111
2,2020-04-30,222
2,2020-05-01,222
1,1990-06-15,333
2,2020-05-01,333
2,2020-05-02,333
1,2020-03-01,999
";

#[test]
fn for_plan_at_keeps_exactly_the_rows_some_window_can_see() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = plan(dir.path());
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    extract(&data, MEDICATIONS);
    let dates = [day("2020-03-01"), day("2020-05-01")];

    let all = Extract::load(&data, &LoadOptions::for_plan(&plan)).expect("loads");
    let at = Extract::load(&data, &LoadOptions::for_plan_at(&plan, &dates)).expect("loads");
    assert_eq!(all.medications.rows_read, 8);
    assert_eq!(
        at.medications.rows_read, 8,
        "every row is read and validated"
    );
    // Any date: every row with a codelist code (not 999).
    assert_eq!(all.medications.len(), 7);
    // Kept: 111 on 2019-12-01, 222 on 2020-04-30 (x's span ends 2020-04-30); 333 on 1990-06-15
    // and 2020-05-01 (y's span ends on the last index date). Dropped: 2019-11-30 (a day before
    // the span), 222 and 333 after it, and code 999.
    let kept: Vec<(i64, String, String)> = (0..at.n_patients())
        .flat_map(|p| {
            let ex = &at;
            ex.medications.rows(p).map(move |r| {
                (
                    ex.patient_ids[p],
                    rxscan_core::dates::format_iso(ex.medications.day[r]),
                    ex.medications.codes[ex.medications.code[r] as usize].clone(),
                )
            })
        })
        .collect();
    let expected: Vec<(i64, String, String)> = [
        (1, "2019-12-01", "111"),
        (1, "1990-06-15", "333"),
        (2, "2020-04-30", "222"),
        (2, "2020-05-01", "333"),
    ]
    .iter()
    .map(|(p, d, c)| (*p, d.to_string(), c.to_string()))
    .collect();
    assert_eq!(kept, expected);
    assert_eq!(at.index_date_range, Some((dates[0], dates[1])));

    // Same results at both dates, and at a date between them.
    let mid = [day("2020-03-01"), day("2020-04-01"), day("2020-05-01")];
    let opts = EvalOptions { patient_rows: true };
    let a = evaluate(&plan, &all, &mid, &opts).expect("evaluates");
    let b = evaluate(&plan, &at, &mid, &opts).expect("evaluates");
    assert_eq!(a.numerators, b.numerators);
    assert_eq!(a.denominators, b.denominators);
    assert_eq!(a.patient_rows, b.patient_rows);
    // By hand, measure `recent` (x in [I-3m, I-1d]): 2020-03-01 → patient 1 (2019-12-01);
    // 2020-04-01 → nobody (2019-12-01 is before 2020-01-01; 2020-04-30 is after I-1d);
    // 2020-05-01 → patient 2 (2020-04-30). Measure `ever`: patient 1 at every date (1990),
    // patient 2 from 2020-05-01.
    let recent: Vec<u64> = (0..3).map(|d| b.count(d, 0, 0).0).collect();
    let ever: Vec<u64> = (0..3).map(|d| b.count(d, 0, 1).0).collect();
    assert_eq!(recent, [1, 0, 1]);
    assert_eq!(ever, [1, 1, 2]);
}

#[test]
fn evaluating_outside_the_loaded_dates_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = plan(dir.path());
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    extract(&data, MEDICATIONS);
    let at = Extract::load(
        &data,
        &LoadOptions::for_plan_at(&plan, &[day("2020-03-01"), day("2020-05-01")]),
    )
    .expect("loads");
    let err = evaluate(&plan, &at, &[day("2020-06-01")], &EvalOptions::default())
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("index date 2020-06-01 is outside 2020-03-01..2020-05-01, the index dates the extract was loaded for (LoadOptions::for_plan_at); load it again for this date")
    );
    assert!(evaluate(&plan, &at, &[day("2020-04-15")], &EvalOptions::default()).is_ok());
}

/// Values the fast path does not take as they are (padding, a leading `+`, 19 digits) go to
/// the exact validators, which accept them as before: the rows load the same either way.
#[test]
fn unusual_but_valid_values_load_the_same_on_both_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    extract(
        data,
        "patient_id,date,dmd_code\n 1 ,2020-01-01, 111 \n2,2020-01-02,222\n",
    );
    std::fs::write(
        data.join("clinical_events.csv"),
        "patient_id,date,snomedct_code,numeric_value,comparator\n1,2020-01-01,5,+4.5e1, <= \n2,2020-01-01,5,,\n",
    )
    .expect("write");
    let keep = LoadOptions {
        keep_medication_codes: Some(vec![KeepCode::any_date("111"), KeepCode::any_date("222")]),
        keep_event_codes: Some(vec![KeepCode::any_date("5")]),
        ..LoadOptions::default()
    };
    let fast = Extract::load(data, &keep).expect("loads");
    let exact = Extract::load(data, &LoadOptions::default()).expect("loads");
    for ex in [&fast, &exact] {
        assert_eq!(ex.medications.len(), 2);
        let ev = &ex.clinical_events;
        assert_eq!(ev.len(), 2);
        assert_eq!(ev.value[0], 45.0);
        assert!(ev.value[1].is_nan());
        assert_eq!(ev.comparator[0], rxscan_core::extract::Comparator::Le as u8);
        assert_eq!(
            ev.comparator[1],
            rxscan_core::extract::Comparator::None as u8
        );
    }
}
