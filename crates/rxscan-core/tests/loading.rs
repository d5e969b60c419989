//! The loader's predicate push-down (`scan::rows`) and its fast path, on
//! hand-made extracts whose kept rows are worked out by hand from the windows.

use std::path::Path;

use rxscan_core::compile::{compile_sources, CompileOptions};
use rxscan_core::dates::parse_iso;
use rxscan_core::eval::{evaluate, EvalOptions};
use rxscan_core::extract::{Extract, KeepCode, LoadOptions};
use rxscan_core::plan::Plan;
use rxscan_core::scan::{rows, IndexDates};

fn day(s: &str) -> i32 {
    parse_iso(s).expect("valid date")
}

/// The rows a scan at `days` keeps (any day of the month: these tests cross month ends).
fn for_plan_at(plan: &Plan, days: &[i32]) -> LoadOptions {
    rows::for_dates(
        plan,
        &IndexDates::any_days(days.iter().copied()).expect("dates"),
    )
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
        "patient_id,date_of_birth,sex,date_of_death\n1,1950-01-01,F,\n2,1960-01-01,M,\n",
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

    let all = Extract::load(&data, &rows::for_any_date(&plan)).expect("loads");
    let at = Extract::load(&data, &for_plan_at(&plan, &dates)).expect("loads");
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
        &for_plan_at(&plan, &[day("2020-03-01"), day("2020-05-01")]),
    )
    .expect("loads");
    let err = evaluate(&plan, &at, &[day("2020-06-01")], &EvalOptions::default())
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("index date 2020-06-01 is outside 2020-03-01..2020-05-01, the index dates the extract was loaded for; load it again for this date")
    );
    assert!(evaluate(&plan, &at, &[day("2020-04-15")], &EvalOptions::default()).is_ok());
}

/// The command line takes only index dates on the 1st of a month; the library, given another
/// day, refuses one whose window start is not a calendar day (cohort-extractor's rule,
/// INDICATORS.md §2.2): 2020-05-31 - 3 months would be 31 February.
#[test]
fn an_index_date_whose_window_start_is_no_calendar_day_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = plan(dir.path());
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    extract(&data, MEDICATIONS);
    let all = Extract::load(&data, &rows::for_any_date(&plan)).expect("loads");
    let err = evaluate(&plan, &all, &[day("2020-05-31")], &EvalOptions::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("2020-05-31 - 3 month(s) is not a calendar day"),
        "{err}"
    );
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

// ---------------------------------------------------------------------------------------------
// The page-level Parquet reader (`extract/events/parquet_pages.rs`).

use polars::prelude::{
    Column, DataFrame, DataType, NamedFrom, ParquetCompression, ParquetReader, ParquetWriter,
    SerReader, Series,
};
use rxscan_core::extract::{EventTable, ReadPaths};

const ROWS: usize = 20_000;
/// Rows per row group asked of polars' writer, which makes row groups of about this size.
const ROW_GROUP: usize = 3_000;

/// The row groups of a Parquet file, as polars' reader counts them.
fn row_groups(path: &Path) -> usize {
    let mut reader = ParquetReader::new(std::fs::File::open(path).expect("open"));
    let n = reader.get_metadata().expect("metadata").row_groups.len();
    assert!(n > 3, "{}: {n} row groups", path.display());
    n
}

type Row = (i64, i32, Option<String>, Option<f64>, Option<&'static str>);
/// A change to row `i`.
type Edit = Box<dyn Fn(usize, &mut Row)>;

/// Row `i` of a clinical_events table: patients 1..=50 in turn (by 7s), dates spread over 25
/// years, code `5` on every tenth row and `77` on the next (the kept codes), otherwise a code
/// used once (too many distinct values for a dictionary); a value on every third row; a
/// comparator `<=` on every ninth, an empty string on every ninth from the third, else null.
fn event_row(i: usize) -> Row {
    let code = match i % 10 {
        0 => "5".to_string(),
        1 => "77".to_string(),
        _ => (100_000_000 + i).to_string(),
    };
    let comparator = match i % 9 {
        0 => Some("<="),
        3 => Some(""),
        _ => None,
    };
    (
        1 + (i * 7 % 50) as i64,
        day("2000-01-01") + (i * 13 % 9_000) as i32,
        Some(code),
        i.is_multiple_of(3).then_some(i as f64 / 4.0),
        comparator,
    )
}

/// Patients 1..=50, registered; no medications.
fn fifty_patients(dir: &Path) {
    let mut p = String::from("patient_id,date_of_birth,sex,date_of_death\n");
    let mut r = String::from("patient_id,start_date,end_date,practice_pseudo_id\n");
    for id in 1..=50 {
        p.push_str(&format!("{id},1950-01-01,F,\n"));
        r.push_str(&format!("{id},2000-01-01,,7\n"));
    }
    std::fs::write(dir.join("patients.csv"), p).expect("write");
    std::fs::write(dir.join("practice_registrations.csv"), r).expect("write");
    std::fs::write(dir.join("medications.csv"), "patient_id,date,dmd_code\n").expect("write");
}

/// The events as a frame with the types polars reads back as the page reader's (Int64, Date,
/// String, Float64, String), `edit` applied to the rows first.
fn events_frame(edit: impl Fn(usize, &mut Row)) -> DataFrame {
    let rows: Vec<_> = (0..ROWS)
        .map(|i| {
            let mut r = event_row(i);
            edit(i, &mut r);
            r
        })
        .collect();
    let date = Series::new(
        "date".into(),
        rows.iter().map(|r| r.1).collect::<Vec<i32>>(),
    )
    .cast(&DataType::Date)
    .expect("date");
    DataFrame::new(
        ROWS,
        vec![
            Column::new(
                "patient_id".into(),
                rows.iter().map(|r| r.0).collect::<Vec<i64>>(),
            ),
            date.into(),
            Column::new(
                "snomedct_code".into(),
                rows.iter()
                    .map(|r| r.2.clone())
                    .collect::<Vec<Option<String>>>(),
            ),
            Column::new(
                "numeric_value".into(),
                rows.iter().map(|r| r.3).collect::<Vec<Option<f64>>>(),
            ),
            Column::new(
                "comparator".into(),
                rows.iter().map(|r| r.4).collect::<Vec<Option<&str>>>(),
            ),
        ],
    )
    .expect("frame")
}

fn write_events_parquet(dir: &Path, mut frame: DataFrame, compression: ParquetCompression) {
    ParquetWriter::new(std::fs::File::create(dir.join("clinical_events.parquet")).expect("create"))
        .with_compression(compression)
        .with_row_group_size(Some(ROW_GROUP))
        .with_data_page_size(Some(4096))
        .finish(&mut frame)
        .expect("write parquet");
}

fn keep_5_and_77() -> LoadOptions {
    LoadOptions {
        keep_medication_codes: Some(Vec::new()),
        keep_event_codes: Some(vec![KeepCode::any_date("5"), KeepCode::any_date("77")]),
        ..LoadOptions::default()
    }
}

/// The error (if any) of loading `dir` plainly and as a scan does, with each of the CSV
/// scanner's window and chunk sizes: (what was tried, the message).
fn error_on_each_path(
    dir: &Path,
    sizes: &[Option<(usize, usize)>],
) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for &sizes in sizes {
        for (what, keep) in [("plain", LoadOptions::default()), ("scan", keep_5_and_77())] {
            let opts = LoadOptions {
                csv_window_and_chunk: sizes,
                ..keep
            };
            let err = Extract::load(dir, &opts).err().map(|e| e.to_string());
            out.push((format!("{what}, windows {sizes:?}"), err));
        }
    }
    out
}

/// Everything of an event table but how it was read, with values compared bit for bit (NaN is
/// "no value").
fn content(t: &EventTable) -> String {
    let bits: Vec<u64> = t.value.iter().map(|v| v.to_bits()).collect();
    format!(
        "{:?} {:?} {:?} {:?} {:?} {:?} {}",
        t.offsets, t.code, t.day, bits, t.comparator, t.codes, t.rows_read
    )
}

/// The same rows as CSV and as Parquet (several row groups of many small pages, the code
/// column dictionary- and plain-encoded, nulls in the optional columns), under each
/// compression: the page reader reads every row group and keeps exactly the CSV path's rows.
#[test]
fn parquet_page_reader_keeps_what_the_csv_path_keeps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("csv");
    std::fs::create_dir(&csv).expect("mkdir");
    fifty_patients(&csv);
    let mut text = String::from("patient_id,date,snomedct_code,numeric_value,comparator\n");
    for i in 0..ROWS {
        let (id, d, code, value, cmp) = event_row(i);
        let code = code.unwrap_or_default();
        let value = value.map(|v| v.to_string()).unwrap_or_default();
        let cmp = cmp.unwrap_or("");
        text.push_str(&format!(
            "{id},{},{code},{value},{cmp}\n",
            rxscan_core::dates::format_iso(d)
        ));
    }
    std::fs::write(csv.join("clinical_events.csv"), text).expect("write");
    let from_csv = Extract::load(&csv, &keep_5_and_77()).expect("csv loads");
    let ev = &from_csv.clinical_events;
    // By hand: codes 5 and 77 are rows with i % 10 in {0, 1}, a fifth of all rows.
    assert_eq!(ev.len(), ROWS / 5);
    assert_eq!(ev.rows_read, ROWS);
    // Patient 1 is row i with i * 7 % 50 == 0, i.e. i a multiple of 50: all of them have
    // i % 10 == 0 (code 5), so all 400 of patient 1's rows are kept, in input order: row 0 first
    // (2000-01-01, value 0 with `<=`), then row 50 (2000-01-01 + 650 days, no value, no
    // comparator: 50 % 3 != 0, 50 % 9 == 5).
    let r = ev.rows(0);
    assert_eq!(r.len(), ROWS / 50);
    assert_eq!(ev.day[r.start], day("2000-01-01"));
    assert_eq!(ev.value[r.start], 0.0);
    assert_eq!(
        ev.comparator[r.start],
        rxscan_core::extract::Comparator::Le as u8
    );
    assert_eq!(ev.day[r.start + 1], day("2000-01-01") + 650);
    assert!(ev.value[r.start + 1].is_nan());
    assert_eq!(
        ev.comparator[r.start + 1],
        rxscan_core::extract::Comparator::None as u8
    );

    for compression in [
        ParquetCompression::Uncompressed,
        ParquetCompression::Snappy,
        ParquetCompression::Zstd(None),
    ] {
        let pq = dir.path().join(format!("pq-{compression:?}"));
        std::fs::create_dir(&pq).expect("mkdir");
        fifty_patients(&pq);
        write_events_parquet(&pq, events_frame(|_, _| {}), compression);
        let from_pq = Extract::load(&pq, &keep_5_and_77()).expect("parquet loads");
        let read_by: ReadPaths = from_pq.clinical_events.read_by;
        let groups = row_groups(&pq.join("clinical_events.parquet"));
        assert_eq!(read_by.row_groups, groups, "{compression:?}: {read_by:?}");
        assert_eq!(
            (read_by.fast_tasks, read_by.exact_tasks),
            (0, 0),
            "{compression:?}"
        );
        assert!(
            read_by.dictionary_pages > 0 && read_by.plain_pages > 0,
            "{compression:?}: {read_by:?}"
        );
        assert_eq!(
            content(&from_pq.clinical_events),
            content(ev),
            "{compression:?}"
        );
    }
}

/// A value the page reader doubts sends its row group to the exact validators, which name the
/// row counted from the start of the file (here in the third row group).
#[test]
fn parquet_page_reader_doubts_go_to_the_exact_path() {
    let row = 7_500; // not in the first row group
    let cases: Vec<(&str, Edit, String)> = vec![
        (
            "negative id",
            Box::new(move |i, r| if i == row { r.0 = -3 }),
            "column 1 `patient_id`: negative id: \"-3\"; expected a non-negative whole number".to_string(),
        ),
        (
            "blank code",
            Box::new(move |i, r| if i == row { r.2 = Some("  ".to_string()) }),
            "column 3 `snomedct_code`: empty code: \"\"; expected a code".to_string(),
        ),
        (
            "null code",
            Box::new(move |i, r| if i == row { r.2 = None }),
            "column 3 `snomedct_code`: empty code: \"\"; expected a code".to_string(),
        ),
        (
            "unknown comparator",
            Box::new(move |i, r| if i == row { r.4 = Some("=>") }),
            "column 5 `comparator`: unknown comparator: \"=>\"; expected one of ~ = >= > < <= or empty".to_string(),
        ),
        (
            "infinite value",
            Box::new(move |i, r| if i == row { r.3 = Some(f64::INFINITY) }),
            "column 4 `numeric_value`: invalid number: \"inf\"; expected a number like 42 or 37.5, or empty".to_string(),
        ),
    ];
    for (what, edit, message) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        fifty_patients(dir.path());
        write_events_parquet(
            dir.path(),
            events_frame(edit),
            ParquetCompression::Zstd(None),
        );
        let err = match Extract::load(dir.path(), &keep_5_and_77()) {
            Ok(_) => panic!("{what}: must not load"),
            Err(e) => e.to_string(),
        };
        let path = dir.path().join("clinical_events.parquet");
        assert_eq!(
            err,
            format!("{}:row {}: {message}", path.display(), row + 1),
            "{what}"
        );
    }
    // An orphan is counted by the page reader and reported with its row, or skipped on request.
    let dir = tempfile::tempdir().expect("tempdir");
    fifty_patients(dir.path());
    write_events_parquet(
        dir.path(),
        events_frame(move |i, r| {
            if i == row {
                r.0 = 51
            }
        }),
        ParquetCompression::Zstd(None),
    );
    let err = Extract::load(dir.path(), &keep_5_and_77())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains(&format!("row {}", row + 1)) && err.contains("51"),
        "{err}"
    );
    let skip = LoadOptions {
        skip_orphans: true,
        ..keep_5_and_77()
    };
    let ex = Extract::load(dir.path(), &skip).expect("loads, skipping the orphan");
    let groups = row_groups(&dir.path().join("clinical_events.parquet"));
    assert_eq!(ex.clinical_events.read_by.row_groups, groups);
    // Row 7500 (code 5, as 7500 % 10 == 0) is dropped with its patient.
    assert_eq!(ex.clinical_events.len(), ROWS / 5 - 1);
}

// ---------------------------------------------------------------------------------------------
// The CSV line scanner (`extract/events/csv_lines.rs`), on a file of several chunks.

const CSV_ROWS: usize = 300_000;

/// `event_row` as CSV lines, `edit` applied to line `i`'s text.
fn events_csv(dir: &Path, edit: impl Fn(usize, String) -> String) {
    let mut text = String::from("patient_id,date,snomedct_code,numeric_value,comparator\n");
    for i in 0..CSV_ROWS {
        let (id, d, code, value, cmp) = event_row(i);
        let line = format!(
            "{id},{},{},{},{}",
            rxscan_core::dates::format_iso(d),
            code.unwrap_or_default(),
            value.map(|v| v.to_string()).unwrap_or_default(),
            cmp.unwrap_or("")
        );
        text.push_str(&edit(i, line));
        text.push('\n');
    }
    std::fs::write(dir.join("clinical_events.csv"), text).expect("write");
}

/// Every kept row as (patient id, day, code, value bits, comparator), in table order.
fn kept_rows(ex: &Extract) -> Vec<(i64, i32, String, u64, u8)> {
    let t = &ex.clinical_events;
    (0..ex.n_patients())
        .flat_map(|p| {
            t.rows(p).map(move |r| {
                (
                    ex.patient_ids[p],
                    t.day[r],
                    t.codes[t.code[r] as usize].clone(),
                    t.value[r].to_bits(),
                    t.comparator[r],
                )
            })
        })
        .filter(|r| r.2 == "5" || r.2 == "77")
        .collect()
}

/// The scanner keeps what the exact validators keep (loading with no keep set, which interns
/// every code), across chunk boundaries; a doubtful chunk in the middle goes to polars with
/// the right row numbers; a quote hands the rest of the file to polars.
#[test]
fn csv_scanner_agrees_with_the_exact_path_across_chunks() {
    let dir = tempfile::tempdir().expect("tempdir");
    fifty_patients(dir.path());
    events_csv(dir.path(), |_, l| l);
    let reference = kept_rows(&Extract::load(dir.path(), &LoadOptions::default()).expect("loads"));
    // By hand: a fifth of the rows have code 5 or 77.
    assert_eq!(reference.len(), CSV_ROWS / 5);
    let scanned = Extract::load(dir.path(), &keep_5_and_77()).expect("loads");
    let paths = scanned.clinical_events.read_by;
    assert!(paths.csv_chunks >= 4, "{paths:?}");
    assert_eq!((paths.fast_tasks, paths.exact_tasks), (0, 0), "{paths:?}");
    assert_eq!(kept_rows(&scanned), reference);
    // The same through 64 KiB windows of 8 KiB chunks: about 170 window ends.
    let small = LoadOptions {
        csv_window_and_chunk: Some((64 << 10, 8 << 10)),
        ..keep_5_and_77()
    };
    let scanned = Extract::load(dir.path(), &small).expect("loads");
    let paths = scanned.clinical_events.read_by;
    assert!(paths.csv_chunks >= 500, "{paths:?}");
    assert_eq!((paths.fast_tasks, paths.exact_tasks), (0, 0), "{paths:?}");
    assert_eq!(kept_rows(&scanned), reference);

    // Padding the exact path trims, in the middle of the file: the same rows.
    let padded = |i: usize, l: String| {
        if i == 150_000 {
            l.replacen(',', " ,", 1)
        } else {
            l
        }
    };
    events_csv(dir.path(), padded);
    let ex = Extract::load(dir.path(), &keep_5_and_77()).expect("loads");
    let paths = ex.clinical_events.read_by;
    assert!(
        paths.csv_chunks >= 3 && paths.fast_tasks + paths.exact_tasks > 0,
        "{paths:?}"
    );
    assert_eq!(kept_rows(&ex), reference);

    // A quoted code from row 200,000: the rest of the file is polars', with the same rows.
    let quoted = |i: usize, l: String| {
        if i == 200_000 {
            l.replacen(",5,", ",\"5\",", 1)
        } else {
            l
        }
    };
    events_csv(dir.path(), quoted);
    let ex = Extract::load(dir.path(), &keep_5_and_77()).expect("loads");
    let paths = ex.clinical_events.read_by;
    assert!(paths.csv_chunks >= 2 && paths.fast_tasks > 0, "{paths:?}");
    assert_eq!(kept_rows(&ex), reference);

    // A bad date and an orphan late in the file are named with their lines (the header is
    // line 1, row i is line i + 2).
    let path = dir.path().join("clinical_events.csv");
    events_csv(dir.path(), |i, l| {
        if i == 250_000 {
            l.replacen("-", "/", 1)
        } else {
            l
        }
    });
    let err = Extract::load(dir.path(), &keep_5_and_77())
        .err()
        .map(|e| e.to_string());
    let date = rxscan_core::dates::format_iso(event_row(250_000).1).replacen('-', "/", 1);
    assert_eq!(
        err.as_deref(),
        Some(format!("{}:line 250002: column 2 `date`: invalid date: \"{date}\"; expected a date as YYYY-MM-DD", path.display()).as_str())
    );
    events_csv(dir.path(), |i, l| {
        if i == 280_000 {
            format!("51{}", &l[l.find(',').expect("comma")..])
        } else {
            l
        }
    });
    let err = Extract::load(dir.path(), &keep_5_and_77())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("line 280002") && err.contains("51"), "{err}");
}

/// With several problems in a file, every path names the one on the earliest row (here a bad
/// date on line 3, before a bad id on line 4), whichever way the rows were cut into batches.
/// Found by the differential fuzz target (`fuzz/`): the exact validators used to report the
/// first problem column by column, so a scan and a plain load could name different lines.
#[test]
fn the_earliest_bad_row_is_named_on_every_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    fifty_patients(dir.path());
    let path = dir.path().join("clinical_events.csv");
    std::fs::write(
        &path,
        "patient_id,date,snomedct_code,numeric_value,comparator\n1,2020-01-01,5,,\n2,2020-13-01,5,,\nx,2020-01-01,5,,\n",
    )
    .expect("write");
    let expected = format!(
        "{}:line 3: column 2 `date`: invalid date: \"2020-13-01\"; expected a date as YYYY-MM-DD",
        path.display()
    );
    for (what, err) in error_on_each_path(dir.path(), &[None]) {
        assert_eq!(err.as_deref(), Some(expected.as_str()), "{what}");
    }
}

/// Windows and chunks far smaller than a line (a few bytes), around the awkward places: CRLF
/// line ends, a padded value, blank lines at the end (an error), a quoted field late in the file
/// and a file without a final newline. Every split gives the exact validators' rows, or their
/// error.
#[test]
fn csv_scanner_windows_smaller_than_a_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    fifty_patients(dir.path());
    let mut lines: Vec<String> = (0..400)
        .map(|i| {
            let (id, d, code, value, cmp) = event_row(i);
            format!(
                "{id},{},{},{},{}",
                rxscan_core::dates::format_iso(d),
                code.unwrap_or_default(),
                value.map(|v| v.to_string()).unwrap_or_default(),
                cmp.unwrap_or("")
            )
        })
        .collect();
    lines[120] = lines[120].replacen(',', " ,", 1);
    let header = "patient_id,date,snomedct_code,numeric_value,comparator";
    let quoted = {
        let mut l = lines.clone();
        l[300] = l[300].replacen(",5,", ",\"5\",", 1);
        l
    };
    let texts = [
        format!("{header}\n{}\n", lines.join("\n")),
        format!("{header}\r\n{}\r\n", lines.join("\r\n")),
        format!("{header}\n{}\n\n\n", lines.join("\n")),
        format!("{header}\n{}", lines.join("\n")),
        format!("{header}\n{}\n", quoted.join("\n")),
    ];
    for (t, text) in texts.iter().enumerate() {
        std::fs::write(dir.path().join("clinical_events.csv"), text).expect("write");
        let load = |opts: &LoadOptions| {
            Extract::load(dir.path(), opts)
                .map(|ex| kept_rows(&ex))
                .map_err(|e| e.to_string())
        };
        let reference = load(&LoadOptions::default());
        match &reference {
            // By hand: rows with i % 10 in {0, 1}.
            Ok(rows) => assert_eq!(rows.len(), 80, "text {t}"),
            // Two blank lines at the end: the first is line 402 (header, 400 rows).
            Err(e) => assert!(t == 2 && e.contains("line 402: the line is empty"), "{e}"),
        }
        for sizes in [(1, 1), (7, 3), (64, 16), (1000, 200)] {
            let opts = LoadOptions {
                csv_window_and_chunk: Some(sizes),
                ..keep_5_and_77()
            };
            assert_eq!(load(&opts), reference, "text {t}, windows {sizes:?}");
        }
    }
}

/// A bad value before a line polars cannot parse at all (not UTF-8): the bad value is named,
/// however the file is cut (found by the fuzz target with 40-byte windows, which parsed the
/// first line on its own while a whole-file parse failed on the second).
#[test]
fn a_bad_value_before_an_unparsable_line_is_named_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    fifty_patients(dir.path());
    let path = dir.path().join("clinical_events.csv");
    let mut text =
        b"patient_id,date,snomedct_code,numeric_value,comparator\n1,2020-13-01,5,,\n2,2020-01-01,"
            .to_vec();
    text.extend_from_slice(b"\xff\xfe,,\n3,2020-01-01,5,,\n");
    std::fs::write(&path, text).expect("write");
    let expected = format!(
        "{}:line 2: column 2 `date`: invalid date: \"2020-13-01\"; expected a date as YYYY-MM-DD",
        path.display()
    );
    for (what, err) in error_on_each_path(dir.path(), &[None, Some((40, 8)), Some((1, 1))]) {
        assert_eq!(err.as_deref(), Some(expected.as_str()), "{what}");
    }
    // With the bad date fixed, the line that is not UTF-8 is named, on every path.
    let text = std::fs::read(&path).expect("read");
    let fixed: Vec<u8> = String::from_utf8_lossy(&text)
        .replace("2020-13-01", "2020-12-01")
        .into_bytes();
    let mut fixed = fixed;
    let at = fixed
        .windows(3)
        .position(|w| w == "\u{fffd}".as_bytes())
        .expect("mark");
    fixed.splice(at..at + 6, [0xff, 0xfe]);
    std::fs::write(&path, fixed).expect("write");
    let messages: Vec<Option<String>> = error_on_each_path(dir.path(), &[None, Some((40, 8))])
        .into_iter()
        .map(|(_, err)| err)
        .collect();
    assert!(
        messages[0].as_deref().is_some_and(|m| m.contains("line 3")),
        "{messages:?}"
    );
    assert!(messages.iter().all(|m| *m == messages[0]), "{messages:?}");
}

/// The same with a quote that is never closed, later in the file: the bad value before it is
/// named, whether the quote is in the same piece of text or not (found by the fuzz target).
#[test]
fn a_bad_value_before_an_unclosed_quote_is_named_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    fifty_patients(dir.path());
    let path = dir.path().join("clinical_events.csv");
    std::fs::write(
        &path,
        "patient_id,date,snomedct_code,numeric_value,comparator\n1,2020-13-01,5,,\n2,2020-01-01,5,,\n3,2020-01-01,\"5,,\n4,2020-01-01,5,,\n",
    )
    .expect("write");
    let expected = format!(
        "{}:line 2: column 2 `date`: invalid date: \"2020-13-01\"; expected a date as YYYY-MM-DD",
        path.display()
    );
    for (what, err) in error_on_each_path(dir.path(), &[None, Some((40, 8)), Some((1, 1))]) {
        assert_eq!(err.as_deref(), Some(expected.as_str()), "{what}");
    }
}

/// A header whose quote runs past its line is an error naming line 1 (the data would otherwise
/// be read from line 2 while the header took several lines; found by the fuzz target).
#[test]
fn a_header_quote_that_runs_past_its_line_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    fifty_patients(dir.path());
    let path = dir.path().join("clinical_events.csv");
    std::fs::write(
        &path,
        "patient_id,date,snomedct_code,numeric_value,comparator,\"note\n1,2020-01-01,5,,,\"\n",
    )
    .expect("write");
    for (what, err) in error_on_each_path(dir.path(), &[None]) {
        assert_eq!(
            err,
            Some(format!("{}:line 1: a quoted column name in the header runs past the end of the line (a stray `\"`?); the header must be one line", path.display())),
            "{what}"
        );
    }
}

/// Regression (fuzz finding `extract_csv-paths-disagree`, issue "Nothing leaks"): a row with
/// more fields than the header (line 3: 9 fields, header 6) in a chunk the CSV scanner doubts
/// (NUL bytes in a code) was handed to polars, which read the header's columns and dropped the
/// rest silently; a plain load did the same. Only the scanner, given a window small enough to
/// see line 3 alone, refused it. Every path must refuse it, naming line 3.
#[test]
fn extract_csv_paths_disagree_extra_fields_are_refused_on_every_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e2e = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/e2e");
    for t in ["patients", "practice_registrations", "medications"] {
        std::fs::copy(
            e2e.join(format!("{t}.csv")),
            dir.path().join(format!("{t}.csv")),
        )
        .expect("copy");
    }
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/fuzz-regressions/extract_csv-paths-disagree.clinical_events.csv"),
        dir.path().join("clinical_events.csv"),
    )
    .expect("copy");
    let keep = Some(vec![
        KeepCode::any_date("1011481000000105"),
        KeepCode::any_date("195967001"),
    ]);
    let plain = LoadOptions::default();
    let scan = LoadOptions {
        keep_event_codes: keep.clone(),
        keep_medication_codes: Some(vec![KeepCode::any_date("318901006")]),
        ..LoadOptions::default()
    };
    let small = LoadOptions {
        csv_window_and_chunk: Some((40, 8)),
        ..scan.clone()
    };
    for (name, opts) in [("plain", plain), ("scan", scan), ("small windows", small)] {
        let err = Extract::load(dir.path(), &opts)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_else(|| format!("{name}: loaded"));
        assert!(
            err.contains("clinical_events.csv:line 3: expected 6 fields like the header, found 9"),
            "{name}: {err}"
        );
    }
}

/// A gzip or zstd copy of the events table is streamed through the same scanner: the same rows
/// as the plain file, through default windows and through 64 KiB windows of 8 KiB chunks (the
/// decompressed text cut at line ends across about 170 windows), with a quote character in
/// the middle handing the rest of the stream to polars.
#[test]
fn compressed_tables_are_streamed_to_the_same_rows() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    fifty_patients(dir.path());
    for quote_at in [None, Some(150_000)] {
        events_csv(dir.path(), |i, l| match quote_at {
            Some(q) if i == q => l
                .replacen(",5,", ",\"5\",", 1)
                .replacen(",77,", ",\"77\",", 1),
            _ => l,
        });
        let plain = dir.path().join("clinical_events.csv");
        let reference =
            kept_rows(&Extract::load(dir.path(), &LoadOptions::default()).expect("loads"));
        let text = std::fs::read(&plain).expect("read");
        std::fs::remove_file(&plain).expect("remove");
        for ext in ["gz", "zst"] {
            let path = dir.path().join(format!("clinical_events.csv.{ext}"));
            let file = std::fs::File::create(&path).expect("create");
            if ext == "gz" {
                let mut w = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
                w.write_all(&text).expect("gzip");
                w.finish().expect("gzip");
            } else {
                let mut w = zstd::stream::write::Encoder::new(file, 1).expect("zstd");
                w.write_all(&text).expect("zstd");
                w.finish().expect("zstd");
            }
            for sizes in [None, Some((64 << 10, 8 << 10))] {
                let opts = LoadOptions {
                    csv_window_and_chunk: sizes,
                    ..keep_5_and_77()
                };
                let ex = Extract::load(dir.path(), &opts).expect("loads");
                let paths = ex.clinical_events.read_by;
                assert!(paths.csv_chunks >= 1, "{ext} {sizes:?}: {paths:?}");
                assert_eq!(
                    kept_rows(&ex),
                    reference,
                    "{ext}, {sizes:?}, quote {quote_at:?}"
                );
                assert_eq!(ex.clinical_events.rows_read, CSV_ROWS);
            }
            // Nothing decompressed lands on disk beside it.
            std::fs::remove_file(&path).expect("remove");
            let left: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
            assert_eq!(left.len(), 3, "{left:?}");
        }
    }
}

/// `KeepCode::latest_before` (what evidence asks for: the last row before a window, from the
/// whole record, without the whole record): code `5` kept in 2015..2018 and, before that, only
/// each patient's latest row (the first in the file among rows of its day: rows `i` and
/// `i + 9000` of `event_row` are one patient's code 5 on the same day, with different values),
/// set apart in `EventTable::earlier`; code `77` kept from 2016 with nothing before. The oracle
/// is worked from the rows as written; every reading path must keep the same counting rows,
/// the same latest earlier row per patient, and only input rows; read in one piece, exactly
/// one earlier row per patient.
#[test]
fn latest_before_keeps_each_patients_latest_earlier_row_on_every_path() {
    let (from5, to5, from77) = (day("2015-01-01"), day("2018-12-31"), day("2016-01-01"));
    let opts = LoadOptions {
        keep_medication_codes: Some(Vec::new()),
        keep_event_codes: Some(vec![
            KeepCode {
                code: "5".into(),
                from: from5,
                to: to5,
                latest_before: Some(0),
            },
            KeepCode {
                latest_before: None,
                from: from77,
                ..KeepCode::any_date("77")
            },
        ]),
        ..LoadOptions::default()
    };
    type Kept = (i64, i32, String, Option<u64>);
    let as_kept = |r: &Row| -> Kept {
        let code = r.2.clone().unwrap_or_default();
        (r.0, r.1, code, r.3.map(f64::to_bits))
    };
    let input: Vec<Kept> = (0..ROWS).map(|i| as_kept(&event_row(i))).collect();
    let earlier = |r: &Kept| r.2 == "5" && r.1 < from5;
    // By the definition: the rows in a span, patient by patient in file order ...
    let mut counting: Vec<Kept> = input
        .iter()
        .filter(|r| (r.2 == "5" && (from5..=to5).contains(&r.1)) || (r.2 == "77" && r.1 >= from77))
        .cloned()
        .collect();
    counting.sort_by_key(|r| r.0);
    // ... and each patient's latest earlier row, the first in the file on a tie.
    let mut latest: std::collections::BTreeMap<i64, Kept> = Default::default();
    for r in input.iter().filter(|r| earlier(r)) {
        let e = latest.entry(r.0).or_insert_with(|| r.clone());
        if r.1 > e.1 {
            *e = r.clone();
        }
    }
    let n_earlier = input.iter().filter(|r| earlier(r)).count();
    // Code 5 is on rows i = 10k, whose patient 1 + 70k % 50 is one of 1, 11, 21, 31, 41.
    assert_eq!(
        latest.keys().copied().collect::<Vec<_>>(),
        [1, 11, 21, 31, 41]
    );
    assert!(n_earlier > 10 * latest.len(), "{n_earlier} earlier rows");
    let input_set: std::collections::BTreeSet<&Kept> = input.iter().collect();

    let check = |what: &str, ex: &Extract| -> usize {
        let main = &ex.clinical_events;
        let all = vec![true; ex.n_patients()];
        let set_apart = main.earlier.as_deref().expect("earlier rows set apart");
        let apart = &set_apart.of_patients(&all, &main.codes);
        let mut got_counting = Vec::new();
        let mut got_latest: std::collections::BTreeMap<i64, Kept> = Default::default();
        let mut n = 0;
        for (set_apart, t) in [(false, main), (true, apart)] {
            for p in 0..ex.n_patients() {
                for r in t.rows(p) {
                    let v = t.value[r];
                    let row: Kept = (
                        ex.patient_ids[p],
                        t.day[r],
                        t.codes[t.code[r] as usize].clone(),
                        (!v.is_nan()).then(|| v.to_bits()),
                    );
                    assert!(
                        input_set.contains(&row),
                        "{what}: {row:?} is not an input row"
                    );
                    assert_eq!(earlier(&row), set_apart, "{what}: {row:?}");
                    if set_apart {
                        n += 1;
                        let e = got_latest.entry(row.0).or_insert_with(|| row.clone());
                        if row.1 > e.1 {
                            *e = row;
                        }
                    } else {
                        got_counting.push(row);
                    }
                }
            }
        }
        assert_eq!(got_counting, counting, "{what}");
        assert_eq!(got_latest, latest, "{what}");
        assert!(
            n < n_earlier,
            "{what}: {n} of {n_earlier} earlier rows kept"
        );
        n
    };

    let dir = tempfile::tempdir().expect("tempdir");
    fifty_patients(dir.path());
    let lines: Vec<String> = (0..ROWS)
        .map(|i| {
            let (id, d, code, value, cmp) = event_row(i);
            format!(
                "{id},{},{},{},{}",
                rxscan_core::dates::format_iso(d),
                code.unwrap_or_default(),
                value.map(|v| v.to_string()).unwrap_or_default(),
                cmp.unwrap_or("")
            )
        })
        .collect();
    let write = |edit: &dyn Fn(usize, &str) -> String| {
        let mut text = String::from("patient_id,date,snomedct_code,numeric_value,comparator\n");
        for (i, l) in lines.iter().enumerate() {
            text.push_str(&edit(i, l));
            text.push('\n');
        }
        std::fs::write(dir.path().join("clinical_events.csv"), text).expect("write");
    };

    // One chunk: exactly one earlier row per patient.
    write(&|_, l| l.to_string());
    let ex = Extract::load(dir.path(), &opts).expect("loads");
    assert_eq!(ex.clinical_events.read_by.csv_chunks, 1);
    assert_eq!(check("one chunk", &ex), latest.len());
    // Many chunks, each keeping its own latest.
    let small = LoadOptions {
        csv_window_and_chunk: Some((64 << 10, 16 << 10)),
        ..opts.clone()
    };
    let ex = Extract::load(dir.path(), &small).expect("loads");
    assert!(ex.clinical_events.read_by.csv_chunks > 20);
    check("small chunks", &ex);
    // A padded id: that chunk through the exact validators.
    write(&|i, l| {
        if i == 100 {
            l.replacen(',', " ,", 1)
        } else {
            l.to_string()
        }
    });
    let ex = Extract::load(dir.path(), &small).expect("loads");
    assert!(ex.clinical_events.read_by.exact_tasks > 0);
    check("exact path", &ex);
    // A quoted code from row 5,000: the rest through polars' batches and the fast pass.
    write(&|i, l| {
        if i == 5000 {
            l.replacen(",5,", ",\"5\",", 1)
        } else {
            l.to_string()
        }
    });
    let ex = Extract::load(dir.path(), &opts).expect("loads");
    assert!(ex.clinical_events.read_by.fast_tasks > 0);
    check("polars batches", &ex);
    // Parquet, row group by row group.
    let pq = dir.path().join("pq");
    std::fs::create_dir(&pq).expect("mkdir");
    fifty_patients(&pq);
    write_events_parquet(&pq, events_frame(|_, _| {}), ParquetCompression::Snappy);
    let ex = Extract::load(&pq, &opts).expect("loads");
    assert!(ex.clinical_events.read_by.row_groups > 3);
    check("parquet", &ex);
}

/// History is thinned per group of codes (what one feature reads), not per code, before each
/// group's own day. Group 0 is codes 11, 22 and 33 read from 2015; code 33 is also in group 1,
/// read from 2014, so its rows are counted from 2014. By hand: patient 1's rows counted are 33
/// on 2015-06-01 and 11 on 2016-01-01; group 0's latest before 2015 is 22 on 2013-09-09 (the
/// first of that day: 11 follows it) and group 1's before 2014 is 33 on 2013-06-01, set apart
/// in file order; every other row goes. Patient 2's 33 on 2014-03-03 is counted (from 2014)
/// and is also group 0's latest before 2015, so it is in both; 22 on 2012-01-01 goes.
#[test]
fn latest_before_is_per_group_of_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    fifty_patients(dir.path());
    std::fs::write(
        dir.path().join("clinical_events.csv"),
        "patient_id,date,snomedct_code,numeric_value,comparator\n\
         1,2010-01-01,11,,\n\
         1,2012-03-03,22,,\n\
         1,2011-05-05,11,,\n\
         1,2013-06-01,33,,\n\
         2,2012-01-01,22,,\n\
         1,2013-09-09,22,1,\n\
         1,2013-09-09,11,2,\n\
         1,2015-06-01,33,,\n\
         2,2014-03-03,33,,\n\
         1,2016-01-01,11,,\n\
         1,2008-01-01,33,,\n",
    )
    .expect("write");
    let code = |c: &str, from: &str, group: u32| KeepCode {
        from: day(from),
        latest_before: Some(group),
        ..KeepCode::any_date(c)
    };
    let opts = LoadOptions {
        keep_medication_codes: Some(Vec::new()),
        keep_event_codes: Some(vec![
            code("11", "2015-01-01", 0),
            code("22", "2015-01-01", 0),
            code("33", "2015-01-01", 0),
            code("33", "2014-01-01", 1),
        ]),
        ..LoadOptions::default()
    };
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(d, c)| (d.to_string(), c.to_string()))
            .collect()
    };
    for sizes in [None, Some((64, 16))] {
        let ex = Extract::load(
            dir.path(),
            &LoadOptions {
                csv_window_and_chunk: sizes,
                ..opts.clone()
            },
        )
        .expect("loads");
        let rows = |t: &rxscan_core::extract::EventTable, p: usize| -> Vec<(String, String)> {
            t.rows(p)
                .map(|r| {
                    let code = t.codes[t.code[r] as usize].clone();
                    (rxscan_core::dates::format_iso(t.day[r]), code)
                })
                .collect()
        };
        let main = &ex.clinical_events;
        let set_apart = main.earlier.as_deref().expect("earlier rows set apart");
        let apart = &set_apart.of_patients(&vec![true; ex.n_patients()], &main.codes);
        assert_eq!(
            rows(main, 0),
            pairs(&[("2015-06-01", "33"), ("2016-01-01", "11")])
        );
        assert_eq!(rows(main, 1), pairs(&[("2014-03-03", "33")]));
        if sizes.is_none() {
            // One piece: exactly the latest per patient and group.
            assert_eq!(
                rows(apart, 0),
                pairs(&[("2013-06-01", "33"), ("2013-09-09", "22")])
            );
            assert_eq!(rows(apart, 1), pairs(&[("2014-03-03", "33")]));
            // Grouped for some patients only (evidence's flagged): the others have none.
            let only_1 = &set_apart.of_patients(&[false, true], &main.codes);
            assert_eq!(rows(only_1, 0), pairs(&[]));
            assert_eq!(rows(only_1, 1), pairs(&[("2014-03-03", "33")]));
        } else {
            // A line or two per piece: each piece's latest, in file order, so the first of
            // the latest day is still 22.
            let r = rows(apart, 0);
            let last = r.iter().map(|(d, _)| d.clone()).max();
            let first_of_last = r.iter().find(|(d, _)| Some(d) == last.as_ref());
            assert_eq!(first_of_last, Some(&("2013-09-09".into(), "22".into())));
        }
    }
}
