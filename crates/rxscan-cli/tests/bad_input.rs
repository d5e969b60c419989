//! Bad input never panics (issue 4). Each test copies the valid e2e extract, breaks one thing,
//! and runs the `rxscan` binary. An input either loads correctly, where its meaning is clear
//! (a UTF-8 BOM, CRLF line endings, quoted fields with newlines), or fails with exit code 2 and
//! one message on stderr naming the file, the line (the header is line 1) and column, the value
//! and what was expected; and the output folder gains nothing.
//!
//! The tests at the end (`regression_*`) are named after what they found.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

const TABLES: [&str; 4] = [
    "patients",
    "practice_registrations",
    "medications",
    "clinical_events",
];
const DATES: [&str; 4] = ["--index-date", "2020-03-01", "--index-date", "2020-04-01"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rxscan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rxscan"))
        .current_dir(repo())
        .args(args)
        .output()
        .expect("run rxscan")
}

/// A copy of `testdata/e2e` to break.
struct Extract {
    dir: TempDir,
}

impl Extract {
    fn new() -> Extract {
        let dir = tempfile::tempdir().expect("tempdir");
        for t in TABLES {
            std::fs::copy(
                repo().join(format!("testdata/e2e/{t}.csv")),
                dir.path().join(format!("{t}.csv")),
            )
            .expect("copy table");
        }
        Extract { dir }
    }
    fn dir(&self) -> &Path {
        self.dir.path()
    }
    fn file(&self, table: &str) -> PathBuf {
        self.dir().join(format!("{table}.csv"))
    }
    /// The path of a table as rxscan prints it.
    fn p(&self, table: &str) -> String {
        self.file(table).display().to_string()
    }
    fn read(&self, table: &str) -> String {
        std::fs::read_to_string(self.file(table)).expect("read table")
    }
    fn write(&self, table: &str, text: impl AsRef<[u8]>) {
        std::fs::write(self.file(table), text).expect("write table");
    }
    /// Replace line `n` (the header is line 1).
    fn set_line(&self, table: &str, n: usize, line: &str) {
        let text = self.read(table);
        let mut lines: Vec<&str> = text.lines().collect();
        lines[n - 1] = line;
        self.write(table, lines.join("\n") + "\n");
    }
    fn line(&self, table: &str, n: usize) -> String {
        self.read(table)
            .lines()
            .nth(n - 1)
            .expect("line")
            .to_string()
    }
    /// Append rows; returns the line number of the first.
    fn append(&self, table: &str, rows: &[&str]) -> usize {
        let mut text = self.read(table);
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let first = text.lines().count() + 1;
        for r in rows {
            text.push_str(r);
            text.push('\n');
        }
        self.write(table, text);
        first
    }
}

/// An output folder that already holds one file from an earlier run.
struct OutDir {
    dir: TempDir,
}

impl OutDir {
    fn new() -> OutDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("earlier.txt"), "from an earlier run\n").expect("write");
        OutDir { dir }
    }
    fn path(&self) -> &str {
        self.dir.path().to_str().expect("utf8 path")
    }
    fn listing(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.dir.path())
            .expect("read out")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

fn scan_with(data: &Path, rules: &str, out: &OutDir, extra: &[&str]) -> Output {
    let data = data.to_str().expect("utf8 path");
    let mut args = vec![
        "scan",
        "--rules",
        rules,
        "--data",
        data,
        "--out",
        out.path(),
        "--quiet",
    ];
    args.extend(DATES);
    args.extend(extra);
    rxscan(&args)
}

/// Exit code 2, exactly one line on stderr and no panic, nothing new in the output folder.
/// Returns stderr.
fn assert_fails(run: &Output, out: &OutDir) -> String {
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "panic:\n{stderr}");
    assert_eq!(run.status.code(), Some(2), "exit code; stderr:\n{stderr}");
    assert_eq!(
        out.listing(),
        ["earlier.txt"],
        "the output folder must gain nothing on error; stderr:\n{stderr}"
    );
    stderr
}

/// `rxscan scan` on `data` fails; returns stderr, which must be one line.
fn fails(data: &Path, extra: &[&str]) -> String {
    let out = OutDir::new();
    let run = scan_with(data, "rules/pincer", &out, extra);
    let stderr = assert_fails(&run, &out);
    assert_eq!(stderr.lines().count(), 1, "one message:\n{stderr}");
    stderr
}

/// `rxscan scan` on `data` succeeds and writes exactly the reviewed e2e outputs. Returns stderr.
fn loads_like_the_original(data: &Path, extra: &[&str]) -> String {
    let out = OutDir::new();
    let run = scan_with(data, "rules/pincer", &out, extra);
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "must load; stderr:\n{stderr}");
    for file in ["summary.csv", "patients.csv", "composites.csv"] {
        let got = std::fs::read_to_string(out.dir.path().join(file)).expect("output");
        let want = std::fs::read_to_string(repo().join("testdata/e2e/expected").join(file))
            .expect("expected");
        assert_eq!(got, want, "{file} differs from the reviewed output");
    }
    assert_eq!(
        out.listing(),
        [
            "composites.csv",
            "earlier.txt",
            "patients.csv",
            "summary.csv"
        ]
    );
    stderr
}

// ---------------------------------------------------------------------------------------------
// Structure: truncation, delimiters, encodings, line endings, quoting.

#[test]
fn truncated_file_cut_mid_row() {
    let ex = Extract::new();
    let text = ex.read("medications");
    let last_start = text.trim_end().rfind('\n').expect("lines") + 1;
    let line = text[..last_start].lines().count() + 1;
    assert_eq!(
        &text[last_start..last_start + 9],
        "26,2019-0",
        "the fixture's last row"
    );
    ex.write("medications", &text[..last_start + 9]);
    let err = fails(ex.dir(), &[]);
    let p = ex.p("medications");
    assert_eq!(err, format!("error: {p}:line {line}: expected 3 fields like the header, found 2: \"26,2019-0\"; the file ends inside this row: is it cut short?\n"));
}

#[test]
fn truncated_file_cut_inside_a_quoted_field() {
    let ex = Extract::new();
    let text = ex.read("medications");
    let last_start = text.trim_end().rfind('\n').expect("lines") + 1;
    let line = text[..last_start].lines().count() + 1;
    ex.write(
        "medications",
        format!("{}26,2019-06-01,\"31890", &text[..last_start]),
    );
    let err = fails(ex.dir(), &[]);
    assert_eq!(
        err,
        format!(
            "error: {}:line {line}: column 3: a quoted field that starts here is never closed\n",
            ex.p("medications")
        )
    );
}

#[test]
fn truncated_file_cut_after_a_separator() {
    let ex = Extract::new();
    let text = ex.read("medications");
    let last_start = text.trim_end().rfind('\n').expect("lines") + 1;
    let line = text[..last_start].lines().count() + 1;
    ex.write(
        "medications",
        format!("{}26,2019-06-01,", &text[..last_start]),
    );
    let err = fails(ex.dir(), &[]);
    assert_eq!(
        err,
        format!(
            "error: {}:line {line}: column 3 `dmd_code`: empty code: \"\"; expected a code\n",
            ex.p("medications")
        )
    );
}

#[test]
fn semicolon_delimiter() {
    let ex = Extract::new();
    ex.write("medications", ex.read("medications").replace(',', ";"));
    let err = fails(ex.dir(), &[]);
    assert_eq!(
        err,
        format!(
            "error: {}: missing column `patient_id`; found columns: patient_id;date;dmd_code; the header looks separated by something other than commas: rxscan reads comma-separated files\n",
            ex.p("medications")
        )
    );
}

#[test]
fn tab_delimiter() {
    let ex = Extract::new();
    ex.write("patients", ex.read("patients").replace(',', "\t"));
    let err = fails(ex.dir(), &[]);
    assert_eq!(
        err,
        format!(
            "error: {}: missing column `patient_id`; found columns: patient_id\tdate_of_birth\tsex\tdate_of_death; the header looks separated by something other than commas: rxscan reads comma-separated files\n",
            ex.p("patients")
        )
    );
}

#[test]
fn utf8_bom_loads() {
    let ex = Extract::new();
    for t in TABLES {
        ex.write(t, format!("\u{feff}{}", ex.read(t)));
    }
    loads_like_the_original(ex.dir(), &[]);
}

#[test]
fn utf8_bom_keeps_line_numbers() {
    let ex = Extract::new();
    ex.set_line("medications", 3, "13,2019-02-30,318901006");
    ex.write("medications", format!("\u{feff}{}", ex.read("medications")));
    let err = fails(ex.dir(), &[]);
    assert_eq!(err, format!("error: {}:line 3: column 2 `date`: invalid date: \"2019-02-30\"; expected a date as YYYY-MM-DD\n", ex.p("medications")));
}

#[test]
fn crlf_line_endings_load() {
    let ex = Extract::new();
    for t in TABLES {
        ex.write(t, ex.read(t).replace('\n', "\r\n"));
    }
    loads_like_the_original(ex.dir(), &[]);
}

#[test]
fn crlf_line_endings_keep_line_numbers() {
    let ex = Extract::new();
    ex.set_line("medications", 7, "1,2019-1-5,329653008");
    ex.write("medications", ex.read("medications").replace('\n', "\r\n"));
    let err = fails(ex.dir(), &[]);
    assert_eq!(err, format!("error: {}:line 7: column 2 `date`: invalid date: \"2019-1-5\"; expected a date as YYYY-MM-DD\n", ex.p("medications")));
}

/// An extra `note` column whose quoted values span lines; notes on rows 2 and 4.
fn with_multiline_notes(ex: &Extract, newline: &str) {
    let text = ex.read("medications");
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let note = match i {
            0 => "note".to_string(),
            1 => format!("\"first line{newline}second line\""),
            3 => format!("\"a \"\"quoted\"\" word,{newline}{newline}and a comma\""),
            _ => String::new(),
        };
        out.push_str(&format!("{line},{note}{newline}"));
    }
    ex.write("medications", out);
}

#[test]
fn quoted_fields_with_embedded_newlines_load() {
    for newline in ["\n", "\r\n"] {
        let ex = Extract::new();
        with_multiline_notes(&ex, newline);
        loads_like_the_original(ex.dir(), &[]);
    }
}

#[test]
fn quoted_fields_with_embedded_newlines_keep_line_numbers() {
    for newline in ["\n", "\r\n"] {
        let ex = Extract::new();
        // Row 6 of the original file; the notes add three lines before it.
        let original = ex.line("medications", 6);
        let broken = original.replacen(",20", ",01/02/20", 1);
        ex.set_line("medications", 6, &broken);
        with_multiline_notes(&ex, newline);
        let value = broken.split(',').nth(1).expect("date");
        let err = fails(ex.dir(), &[]);
        assert_eq!(err, format!("error: {}:line 9: column 2 `date`: invalid date: {value:?}; expected a date as YYYY-MM-DD\n", ex.p("medications")), "newline {newline:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Dates.

fn bad_medication_date(date: &str) {
    let ex = Extract::new();
    ex.set_line("medications", 3, &format!("13,{date},318901006"));
    let err = fails(ex.dir(), &[]);
    assert_eq!(err, format!("error: {}:line 3: column 2 `date`: invalid date: {date:?}; expected a date as YYYY-MM-DD\n", ex.p("medications")));
}

#[test]
fn date_that_does_not_exist() {
    bad_medication_date("2019-02-30");
}

#[test]
fn date_without_separators() {
    bad_medication_date("20190201");
}

#[test]
fn date_day_month_year() {
    bad_medication_date("01/02/2019");
}

#[test]
fn date_not_zero_padded() {
    bad_medication_date("2019-1-5");
}

// ---------------------------------------------------------------------------------------------
// Values.

#[test]
fn numeric_value_with_a_decimal_comma() {
    let ex = Extract::new();
    let p = ex.p("clinical_events");
    // Unquoted, the comma makes an extra field.
    ex.set_line("clinical_events", 2, "105,2019-12-20,1011481000000105,1,5,");
    let err = fails(ex.dir(), &[]);
    assert_eq!(err, format!("error: {p}:line 2: expected 5 fields like the header, found 6: \"105,2019-12-20,1011481000000105,1,5,\"\n"));
    // Quoted, it is one value that is not a number.
    ex.set_line(
        "clinical_events",
        2,
        "105,2019-12-20,1011481000000105,\"1,5\",",
    );
    let err = fails(ex.dir(), &[]);
    assert_eq!(err, format!("error: {p}:line 2: column 4 `numeric_value`: invalid number: \"1,5\"; expected a number like 42 or 37.5, or empty\n"));
}

#[test]
fn numeric_value_nan() {
    let ex = Extract::new();
    ex.set_line(
        "clinical_events",
        3,
        "25,2019-11-20,1011481000000105,NaN,<=",
    );
    let err = fails(ex.dir(), &[]);
    assert_eq!(err, format!("error: {}:line 3: column 4 `numeric_value`: invalid number: \"NaN\"; expected a number like 42 or 37.5, or empty\n", ex.p("clinical_events")));
}

#[test]
fn negative_patient_id() {
    let ex = Extract::new();
    ex.set_line("patients", 3, "-13,1940-01-01,F,");
    let err = fails(ex.dir(), &[]);
    assert_eq!(err, format!("error: {}:line 3: column 1 `patient_id`: negative id: \"-13\"; expected a non-negative whole number\n", ex.p("patients")));
}

#[test]
fn enormous_patient_id() {
    let ex = Extract::new();
    ex.set_line(
        "medications",
        4,
        "99999999999999999999,2020-02-06,319773006",
    );
    let err = fails(ex.dir(), &[]);
    assert_eq!(
        err,
        format!(
            "error: {}:line 4: column 1 `patient_id`: id too large (the limit is 9223372036854775807): \"99999999999999999999\"; expected a non-negative whole number\n",
            ex.p("medications")
        )
    );
}

#[test]
fn duplicate_patients() {
    let ex = Extract::new();
    assert_eq!(ex.line("patients", 3), "13,1940-01-01,F,");
    ex.set_line("patients", 5, "13,1965-07-01,M,2020-04-01");
    let err = fails(ex.dir(), &[]);
    assert_eq!(err, format!("error: {}:line 5: column 1 `patient_id`: duplicate patient (first at line 3): \"13\"; expected each patient_id once\n", ex.p("patients")));
}

#[test]
fn registration_that_ends_before_it_starts() {
    let ex = Extract::new();
    assert_eq!(ex.line("practice_registrations", 3), "2,2000-01-01,,2");
    ex.set_line("practice_registrations", 3, "2,2000-01-01,1999-12-31,2");
    let err = fails(ex.dir(), &[]);
    assert_eq!(
        err,
        format!(
            "error: {}:line 3: column 3 `end_date`: registration ends before it starts: \"1999-12-31\"; expected an end_date on or after the start_date 2000-01-01\n",
            ex.p("practice_registrations")
        )
    );
}

#[test]
fn unknown_sex() {
    let ex = Extract::new();
    ex.set_line("patients", 3, "13,1940-01-01,X,");
    let err = fails(ex.dir(), &[]);
    assert_eq!(err, format!("error: {}:line 3: column 3 `sex`: unknown sex: \"X\"; expected male, female, intersex, unknown (or M, F, I, U)\n", ex.p("patients")));
}

#[test]
fn unknown_comparator() {
    let ex = Extract::new();
    ex.set_line("clinical_events", 3, "25,2019-11-20,1011481000000105,44,=<");
    let err = fails(ex.dir(), &[]);
    assert_eq!(err, format!("error: {}:line 3: column 5 `comparator`: unknown comparator: \"=<\"; expected one of ~ = >= > < <= or empty\n", ex.p("clinical_events")));
}

#[test]
fn empty_patient_id() {
    let ex = Extract::new();
    ex.set_line("medications", 3, ",2020-02-01,318901006");
    let err = fails(ex.dir(), &[]);
    assert_eq!(err, format!("error: {}:line 3: column 1 `patient_id`: empty value: \"\"; expected a non-negative whole number\n", ex.p("medications")));
}

#[test]
fn medication_rows_of_unknown_patients_are_an_error_by_default() {
    let ex = Extract::new();
    let first = ex.append(
        "medications",
        &["999,2020-01-01,329653008", "998,2020-01-02,329653008"],
    );
    let err = fails(ex.dir(), &[]);
    assert_eq!(
        err,
        format!(
            "error: {}: 2 row(s) refer to a patient_id that is not in the patients table (first: patient_id 999 at line {first}); fix the extract, or pass --skip-orphans to skip them with a warning\n",
            ex.p("medications")
        )
    );
}

#[test]
fn skip_orphans_warns_and_skips() {
    let ex = Extract::new();
    ex.append(
        "medications",
        &["999,2020-01-01,329653008", "998,2020-01-02,329653008"],
    );
    let stderr = loads_like_the_original(ex.dir(), &["--skip-orphans"]);
    assert_eq!(stderr, format!("warning: {}: skipped 2 row(s) whose patient_id is not in the patients table (--skip-orphans)\n", ex.p("medications")));
}

// ---------------------------------------------------------------------------------------------
// Files and folders.

#[test]
fn empty_file() {
    let ex = Extract::new();
    ex.write("medications", "");
    let err = fails(ex.dir(), &[]);
    assert_eq!(err, format!("error: {}: the file is empty; expected a header row with the columns patient_id,date,dmd_code\n", ex.p("medications")));
}

#[test]
fn file_of_only_a_header() {
    // No patients is an error: there is nothing to scan.
    let ex = Extract::new();
    ex.write("patients", "patient_id,date_of_birth,sex,date_of_death\n");
    let err = fails(ex.dir(), &[]);
    assert_eq!(
        err,
        format!(
            "error: {}: the patients table has no rows\n",
            ex.p("patients")
        )
    );
    // No medications is a valid (if unusual) extract: it loads, and no medication measure fires.
    let ex = Extract::new();
    ex.write("medications", "patient_id,date,dmd_code\n");
    let out = OutDir::new();
    let run = scan_with(ex.dir(), "rules/pincer", &out, &[]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary = std::fs::read_to_string(out.dir.path().join("summary.csv")).expect("summary");
    assert!(
        summary
            .lines()
            .skip(1)
            .all(|l| l.split(',').nth(3) == Some("0")),
        "no numerator without medications:\n{summary}"
    );
}

#[test]
fn directory_where_a_file_should_be() {
    let ex = Extract::new();
    std::fs::remove_file(ex.file("medications")).expect("rm");
    std::fs::create_dir(ex.file("medications")).expect("mkdir");
    let err = fails(ex.dir(), &[]);
    assert_eq!(
        err,
        format!(
            "error: {}: cannot read: is a directory, expected a file\n",
            ex.p("medications")
        )
    );
}

#[test]
fn unreadable_file() {
    use std::os::unix::fs::PermissionsExt;
    let ex = Extract::new();
    std::fs::set_permissions(
        ex.file("medications"),
        std::fs::Permissions::from_mode(0o000),
    )
    .expect("chmod");
    if std::fs::File::open(ex.file("medications")).is_ok() {
        // Root (as in CI containers) reads a mode-000 file anyway: nothing to test here.
        eprintln!(
            "unreadable_file: skipped, this process can read a mode-000 file (running as root)"
        );
        return;
    }
    let err = fails(ex.dir(), &[]);
    assert_eq!(
        err,
        format!(
            "error: {}: cannot read: Permission denied (os error 13)\n",
            ex.p("medications")
        )
    );
}

#[test]
fn missing_table() {
    let ex = Extract::new();
    std::fs::remove_file(ex.file("clinical_events")).expect("rm");
    let err = fails(ex.dir(), &[]);
    assert_eq!(err, format!("error: {}: no `clinical_events` table (looked for clinical_events.csv and clinical_events.parquet)\n", ex.dir().display()));
}

#[test]
fn both_csv_and_parquet_for_one_table() {
    let ex = Extract::new();
    std::fs::write(ex.dir().join("medications.parquet"), b"PAR1").expect("write");
    let err = fails(ex.dir(), &[]);
    assert_eq!(err, format!("error: {}: both medications.csv and medications.parquet exist; keep one so it is clear which is read\n", ex.dir().display()));
}

#[test]
fn data_folder_that_is_a_file() {
    let ex = Extract::new();
    let err = fails(&ex.file("patients"), &[]);
    assert_eq!(
        err,
        // The error names the flag the user gave (issue "Nothing leaks").
        format!("error: --data {}: not a folder\n", ex.p("patients"))
    );
}

#[test]
fn failed_scan_does_not_create_the_output_folder() {
    let ex = Extract::new();
    ex.set_line("medications", 3, "13,2019-02-30,318901006");
    let parent = tempfile::tempdir().expect("tempdir");
    let out = parent.path().join("not-yet");
    let data = ex.dir().to_str().expect("utf8");
    let mut args = vec![
        "scan",
        "--data",
        data,
        "--out",
        out.to_str().expect("utf8"),
        "--quiet",
    ];
    args.extend(DATES);
    let run = rxscan(&args);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        !out.exists(),
        "the output folder is created only when results are written"
    );
}

// ---------------------------------------------------------------------------------------------
// Rule files.

/// A rule pack folder with one file, `rules.rx`, and optionally a codelist.
fn rules_dir(text: &str) -> TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("rules.rx"), text).expect("write rules");
    dir
}

/// `check` and `scan` with these rules both fail with exit 2, no panic, nothing written.
fn rules_fail(rules: &TempDir) -> String {
    let r = rules.path().to_str().expect("utf8");
    let check = rxscan(&["check", "--rules", r]);
    let out = OutDir::new();
    let check_err = assert_fails(&check, &out);
    let scan = scan_with(&repo().join("testdata/e2e"), r, &out, &[]);
    let scan_err = assert_fails(&scan, &out);
    assert_eq!(check_err, scan_err, "check and scan report the same");
    check_err
}

const MEASURE_DOC: &str = r#"doc = """
## What it flags
x
## Why it matters
x
## Definition
x
## References
x
""""#;

#[test]
fn rule_file_nested_ten_thousand_deep() {
    let rules = rules_dir(&format!(
        "define deep = {}true{}\n",
        "(".repeat(10_000),
        ")".repeat(10_000)
    ));
    let err = rules_fail(&rules);
    let file = rules.path().join("rules.rx");
    assert!(
        err.contains(&format!(
            "{}:1:79: error: expression nested more than 64 levels deep",
            file.display()
        )),
        "{}",
        &err[..err.len().min(400)]
    );
    assert!(err.ends_with("1 error(s) in the rules\n"), "one error");
    // A flat chain of 10,000 operands is not nesting: it compiles.
    let chain = rules_dir(&format!(
        "define flat = {}\n",
        vec!["true"; 10_000].join(" and ")
    ));
    let check = rxscan(&["check", "--rules", chain.path().to_str().expect("utf8")]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn rule_file_with_a_million_codes_compiles_quickly() {
    let rules = rules_dir(&format!(
        "codelist big = dmd(\"big.csv\")\nmeasure m {{\n  primis = \"X\"\n  title = \"t\"\n  denominator = medications.has(big, [index - 3 months, index])\n  numerator = true\n  {MEASURE_DOC}\n}}\n"
    ));
    let mut csv = String::with_capacity(40 << 20);
    csv.push_str("id,term\n");
    for i in 0..1_000_000u64 {
        csv.push_str(&format!("{},code {i}\n", 10_000_000_000u64 + i));
    }
    std::fs::write(rules.path().join("big.csv"), csv).expect("write codelist");
    let r = rules.path().to_str().expect("utf8");
    let started = Instant::now();
    let check = rxscan(&["check", "--rules", r]);
    let took = started.elapsed();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("1 measures, 0 composites, 1 codelists")
    );
    // About a second in a debug build; the bound only catches a quadratic blow-up.
    assert!(took < Duration::from_secs(60), "check took {took:?}");
    let out = OutDir::new();
    let scan = scan_with(&repo().join("testdata/e2e"), r, &out, &[]);
    assert!(
        scan.status.success(),
        "{}",
        String::from_utf8_lossy(&scan.stderr)
    );
}

#[test]
fn rule_window_of_ten_thousand_years() {
    let rules = rules_dir("define everything = [index - 10000 years, index]\n");
    let err = rules_fail(&rules);
    let file = rules.path().join("rules.rx");
    assert!(
        err.starts_with(&format!(
            "{}:1:22: error: this date is more than 200 years from the index date\n",
            file.display()
        )),
        "{err}"
    );
    assert!(err.ends_with("\n1 error(s) in the rules\n"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Regressions, named after what they found.

/// The `csv` crate puts a record on the line before it when lines end in `\r\n`.
#[test]
fn regression_crlf_line_numbers_were_one_too_low() {
    let ex = Extract::new();
    ex.write(
        "medications",
        "patient_id,date,dmd_code\r\n1,2019-12-01,329653008\r\n2,01/02/2019,1\r\n",
    );
    let err = fails(ex.dir(), &[]);
    assert_eq!(err, format!("error: {}:line 3: column 2 `date`: invalid date: \"01/02/2019\"; expected a date as YYYY-MM-DD\n", ex.p("medications")));
}

/// A blank line was reported as an empty patient_id (polars reads it as a row of nulls), at a
/// line number taken from a reader that skips blank lines.
#[test]
fn regression_blank_line_was_an_empty_patient_id() {
    let ex = Extract::new();
    ex.write(
        "medications",
        "patient_id,date,dmd_code\n1,2019-12-01,329653008\n\n2,2019-12-01,329653008\n",
    );
    let err = fails(ex.dir(), &[]);
    assert_eq!(err, format!("error: {}:line 3: the line is empty; expected a row with the 3 fields of the header (remove blank lines)\n", ex.p("medications")));
}

/// Text after a closing quote made polars fail with a multi-line message about
/// `infer_schema_length` and no line number.
#[test]
fn regression_stray_quote_gave_a_multiline_message_without_a_line() {
    let ex = Extract::new();
    ex.write(
        "medications",
        "patient_id,date,dmd_code\n1,2019-12-01,329653008\n1,2019-12-01,\"32965\"3008\n",
    );
    let err = fails(ex.dir(), &[]);
    assert_eq!(
        err,
        format!("error: {}:line 3: column 3: text after the closing quote of a quoted field (a `\"` inside a quoted field is written `\"\"`)\n", ex.p("medications"))
    );
}

/// A file with classic-Mac line endings (lone `\r`) loaded as a header and no rows.
#[test]
fn regression_lone_cr_line_endings_loaded_no_rows() {
    let ex = Extract::new();
    ex.write("medications", ex.read("medications").replace('\n', "\r"));
    let err = fails(ex.dir(), &[]);
    assert_eq!(err, format!("error: {}:line 1: lines end with a lone carriage return (CR, old Mac style); rxscan reads LF or CRLF line endings\n", ex.p("medications")));
}

/// A header naming a column twice loaded silently from the first.
#[test]
fn regression_duplicate_header_column_was_ignored() {
    let ex = Extract::new();
    ex.write(
        "medications",
        "patient_id,date,dmd_code,date\n1,2019-12-01,329653008,2020-01-01\n",
    );
    let err = fails(ex.dir(), &[]);
    assert_eq!(err, format!("error: {}:line 1: column `date` appears 2 times in the header (columns 2 and 4); keep one so it is clear which is read\n", ex.p("medications")));
}

/// A UTF-16 file gave the `csv` crate's "CSV parse error: record 0 (line 1, field: 0, byte: 0)".
#[test]
fn regression_utf16_file_gave_a_parser_message() {
    let ex = Extract::new();
    let mut bytes = vec![0xFF, 0xFE];
    for u in "patient_id,date,dmd_code\n1,2019-12-01,329653008\n".encode_utf16() {
        bytes.extend(u.to_le_bytes());
    }
    ex.write("medications", bytes);
    let err = fails(ex.dir(), &[]);
    assert_eq!(err, format!("error: {}:line 1: the header is not valid UTF-8 text; rxscan reads UTF-8 files (this file looks like UTF-16: save it as UTF-8)\n", ex.p("medications")));
}

/// Invalid UTF-8 in a column rxscan does not read was reported on line 1.
#[test]
fn regression_invalid_utf8_in_an_extra_column_was_put_on_line_1() {
    let ex = Extract::new();
    ex.write("medications", b"patient_id,date,dmd_code,note\n1,2019-12-01,329653008,ok\n2,2019-12-01,329653008,caf\xe9\n".as_slice());
    let err = fails(ex.dir(), &[]);
    assert_eq!(
        err,
        format!(
            "error: {}:line 3: column 4: the text is not valid UTF-8 (rxscan reads UTF-8 files)\n",
            ex.p("medications")
        )
    );
}

/// Writing to a full standard output panicked (`println!`) instead of failing with exit 2.
#[test]
fn regression_full_stdout_panicked() {
    if !Path::new("/dev/full").exists() {
        eprintln!("regression_full_stdout_panicked: skipped, no /dev/full");
        return;
    }
    for args in [&["rules"][..], &["check"], &["rule", "a"]] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("open /dev/full");
        let run = Command::new(env!("CARGO_BIN_EXE_rxscan"))
            .current_dir(repo())
            .args(args)
            .stdout(full)
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(
            stderr,
            "error: cannot write to standard output: No space left on device (os error 28)\n",
            "{args:?}"
        );
    }
}

/// A reader that stops early (`rxscan rules | head -1`) made rxscan panic on the broken pipe.
#[test]
fn regression_closed_stdout_panicked() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rxscan"))
        .current_dir(repo())
        .args(["rule", "a"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let run = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        run.status.code(),
        Some(0),
        "like ripgrep, a closed pipe ends the run quietly: {stderr}"
    );
    assert_eq!(stderr, "");
}

/// Found by the `rules` fuzzer: `rxscan check` on a string with an unknown escape of a
/// multi-byte character (`"\é"`) printed a panic from the lexer.
#[test]
fn regression_fuzz_unknown_escape_of_a_multibyte_character_panicked() {
    let rules = rules_dir("define x = \"\\é\"\n");
    let err = rules_fail(&rules);
    let file = rules.path().join("rules.rx");
    assert!(
        err.starts_with(&format!(
            "{}:1:13: error: unknown escape in string\n",
            file.display()
        )),
        "{err}"
    );
}
