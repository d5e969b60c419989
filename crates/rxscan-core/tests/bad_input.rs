//! Bad input at the library level (issue 4): Parquet files with the wrong column types, rule
//! texts built to exhaust the parser, and regressions found by the fuzzers (`fuzz/`). Nothing
//! may panic; every failure is a typed error whose message names the place and the value.
//! The CLI-level cases (exit code, stderr, no partial output) are in
//! `crates/rxscan-cli/tests/bad_input.rs`.

mod common;

use std::path::{Path, PathBuf};

use polars::prelude::*;
use rxscan_core::compile::{compile_sources, CompileOptions};
use rxscan_core::extract::{Extract, KeepCode, LoadOptions};

/// The e2e extract with `medications` replaced by a Parquet file holding `frame`.
fn with_parquet_medications(mut frame: DataFrame) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    for t in ["patients", "practice_registrations", "clinical_events"] {
        std::fs::copy(
            common::repo().join(format!("testdata/e2e/{t}.csv")),
            dir.path().join(format!("{t}.csv")),
        )
        .expect("copy");
    }
    let path = dir.path().join("medications.parquet");
    ParquetWriter::new(std::fs::File::create(&path).expect("create"))
        .finish(&mut frame)
        .expect("write parquet");
    (dir, path)
}

fn load_err(dir: &Path) -> String {
    let message = match Extract::load(dir, &LoadOptions::default()) {
        Ok(_) => panic!("{} must not load", dir.display()),
        Err(e) => e.to_string(),
    };
    // Loading as a scan does (a keep set: the loader's fast path, which hands anything doubtful
    // to the exact validators) reports the same problem.
    let keep = LoadOptions {
        keep_medication_codes: Some(vec![KeepCode::any_date("329653008")]),
        keep_event_codes: Some(vec![KeepCode::any_date("1011481000000105")]),
        ..LoadOptions::default()
    };
    let fast = Extract::load(dir, &keep).err().map(|e| e.to_string());
    assert_eq!(fast.as_deref(), Some(message.as_str()), "fast path");
    message
}

#[test]
fn parquet_with_wrong_column_types() {
    let ids = Column::new("patient_id".into(), [1i64, 2]);
    let dates = Column::new("date".into(), ["2020-01-01", "2020-01-02"]);
    let codes = Column::new("dmd_code".into(), ["329653008", "318901006"]);
    let cases = [
        (
            Column::new("patient_id".into(), [1.5f64, 2.0]),
            "column `patient_id` has type f64; expected an integer or string column",
        ),
        (
            Column::new("date".into(), [20200101i64, 20200102]),
            "column `date` has type i64; expected a Date or YYYY-MM-DD string column",
        ),
        (
            Column::new("dmd_code".into(), [329653008i64, 318901006]),
            "column `dmd_code` has type i64; expected a string column",
        ),
        (
            Column::new("dmd_code".into(), [true, false]),
            "column `dmd_code` has type bool; expected a string column",
        ),
    ];
    for (wrong, message) in cases {
        let name = wrong.name().to_string();
        let columns: Vec<Column> = [&ids, &dates, &codes]
            .into_iter()
            .map(|c| {
                if c.name().as_str() == name {
                    wrong.clone()
                } else {
                    c.clone()
                }
            })
            .collect();
        let (dir, path) = with_parquet_medications(DataFrame::new(2, columns).expect("frame"));
        assert_eq!(
            load_err(dir.path()),
            format!("{}: {message}", path.display())
        );
    }
}

#[test]
fn parquet_with_the_right_types_loads() {
    // The control for the test above: the same file with correct types loads.
    let frame = df!("patient_id" => [1i64, 2], "date" => ["2020-01-01", "2020-01-02"], "dmd_code" => ["329653008", "318901006"]).expect("frame");
    let (dir, _) = with_parquet_medications(frame);
    let ex = Extract::load(dir.path(), &LoadOptions::default()).expect("loads");
    assert_eq!(ex.medications.rows_read, 2);
}

#[test]
fn parquet_bad_values_name_the_row() {
    let frame = df!("patient_id" => [1i64, -2], "date" => ["2020-01-01", "2020-01-02"], "dmd_code" => ["1", "2"]).expect("frame");
    let (dir, path) = with_parquet_medications(frame);
    assert_eq!(load_err(dir.path()), format!("{}:row 2: column 1 `patient_id`: negative id: \"-2\"; expected a non-negative whole number", path.display()));
    let frame = df!("patient_id" => [1i64, 2], "date" => ["2020-01-01", "2019-02-30"], "dmd_code" => ["1", "2"]).expect("frame");
    let (dir, path) = with_parquet_medications(frame);
    assert_eq!(load_err(dir.path()), format!("{}:row 2: column 2 `date`: invalid date: \"2019-02-30\"; expected a date as YYYY-MM-DD", path.display()));
}

#[test]
fn parquet_file_that_is_not_parquet() {
    let dir = tempfile::tempdir().expect("tempdir");
    for t in ["patients", "practice_registrations", "clinical_events"] {
        std::fs::copy(
            common::repo().join(format!("testdata/e2e/{t}.csv")),
            dir.path().join(format!("{t}.csv")),
        )
        .expect("copy");
    }
    let path = dir.path().join("medications.parquet");
    for bytes in [
        &b""[..],
        b"PAR1",
        b"patient_id,date,dmd_code\n1,2020-01-01,1\n",
    ] {
        std::fs::write(&path, bytes).expect("write");
        let err = load_err(dir.path());
        assert!(
            err.starts_with(&format!("{}: cannot read: ", path.display())),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

/// An unsigned id above i64::MAX became null in the cast to i64 and was reported as empty.
#[test]
fn regression_unsigned_parquet_id_above_i64_max_was_called_empty() {
    let frame = df!("patient_id" => [1u64, u64::MAX], "date" => ["2020-01-01", "2020-01-02"], "dmd_code" => ["1", "2"]).expect("frame");
    let (dir, path) = with_parquet_medications(frame);
    assert_eq!(
        load_err(dir.path()),
        format!("{}:row 2: column 1 `patient_id`: id too large (the limit is 9223372036854775807): \"18446744073709551615\"; expected a non-negative whole number", path.display())
    );
}

// ---------------------------------------------------------------------------------------------
// Rule texts built to exhaust the parser or the compiler: each compiles or is rejected with
// diagnostics, quickly, and never overflows the stack.

fn compile(text: String) -> Result<(), String> {
    compile_sources(vec![("t.rx".into(), text)], &CompileOptions::default())
        .map(|_| ())
        .map_err(|e| e.render(false))
}

#[test]
fn ten_thousand_deep_in_every_nesting_construct() {
    let n = 10_000;
    let deep = [
        format!("define x = {}true{}", "(".repeat(n), ")".repeat(n)),
        format!("define x = {}true", "not ".repeat(n)),
        format!("define x = {}1", "-".repeat(n)),
        format!("define x = {}true{}", "f(".repeat(n), ")".repeat(n)),
        format!("define x = {}index{}", "[".repeat(n), ", index]".repeat(n)),
        format!("define x = {}1{}", "1 in (".repeat(n), ")".repeat(n)),
    ];
    for text in deep {
        let err = compile(text.clone()).expect_err("too deep");
        assert!(
            err.contains("nested more than 64 levels deep"),
            "{}: {}",
            &text[..40],
            &err[..err.len().min(300)]
        );
    }
}

#[test]
fn ten_thousand_long_flat_chains_compile() {
    let n = 10_000;
    for text in [
        format!("define x = {}", vec!["true"; n].join(" and ")),
        format!("define x = {}", vec!["true"; n].join(" or ")),
        format!("define x = {}", vec!["1"; n].join(" - ")),
        format!("define x = index - {}", vec!["1 day"; n].join(" - ")),
        format!("define x = 1 in ({})", vec!["1"; n].join(", ")),
    ] {
        compile(text.clone())
            .unwrap_or_else(|e| panic!("{}: {}", &text[..40], &e[..e.len().min(300)]));
    }
    // A chain of field accesses is not a nesting the parser bounds, only a long one.
    let err = compile(format!("define x = a{}", ".b".repeat(n))).expect_err("unknown name");
    assert!(err.contains("unknown name `a`"));
}

// ---------------------------------------------------------------------------------------------
// Regressions found by the fuzzers (`fuzz/run.sh`), named after what they found.

/// Found by the `rules` fuzzer: the lexer stepped two bytes over an unknown escape, landing
/// inside a multi-byte character (`"\é"`) and panicking on the next slice of the text.
#[test]
fn regression_fuzz_unknown_escape_of_a_multibyte_character_panicked_the_lexer() {
    for text in [
        "define x = \"\\é\"\n",
        "define x = \"\\€",
        "define x = \"\\😀 and more\"\n",
    ] {
        let err = compile(text.to_string()).expect_err("unknown escape");
        assert!(
            err.contains("t.rx:1:13: error[RX004]: unknown escape in string"),
            "{text:?}:\n{err}"
        );
    }
}

/// Regression (found reading the code while splitting `compile/`): a duration override of
/// `i64::MIN` days overflowed `abs()` in the `--param` parser, a panic the compiler thread
/// reported as "the compiler crashed". It is now an ordinary diagnostic on the parameter.
#[test]
fn regression_param_duration_of_i64_min_days_crashed_the_compiler() {
    let opts = CompileOptions {
        params: vec![(
            "coprescription_gap".to_string(),
            "-9223372036854775808 days".to_string(),
        )],
        ..CompileOptions::default()
    };
    let err = match rxscan_core::compile::compile_dir(&common::repo().join("rules/pincer"), &opts) {
        Ok(_) => panic!("an out-of-range duration must not compile"),
        Err(e) => e.render(false),
    };
    assert!(!err.contains("crashed"), "{err}");
    assert!(err.contains("coprescription_gap"), "{err}");
}

/// The e2e extract with `edit` applied to the text of `table.csv`.
fn e2e_with(table: &str, edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for t in [
        "patients",
        "practice_registrations",
        "medications",
        "clinical_events",
    ] {
        let text = std::fs::read_to_string(common::repo().join(format!("testdata/e2e/{t}.csv")))
            .expect("read");
        let text = if t == table { edit(&text) } else { text };
        std::fs::write(dir.path().join(format!("{t}.csv")), text).expect("write");
    }
    dir
}

/// A message that says what to do names the option by what the caller calls it
/// (`OptionNames`): the library's own names by default, a command line's flags when it gives
/// them (`crates/rxscan-cli` does; its tests see `--skip-orphans`). Worked by hand: the
/// orphan row is patient 999, on line 56 of the 55-line medications file.
#[test]
fn messages_name_options_as_the_caller_calls_them() {
    use rxscan_core::{IndexDates, OptionNames, Scan};
    let plan = common::pincer();
    let dates = IndexDates::of([rxscan_core::dates::parse_iso("2020-03-01").expect("date")])
        .expect("dates");
    let caller = OptionNames {
        skip_orphans: "SKIP",
        absent: "ABSENT",
        param: "PARAM",
        data: "DATA",
    };
    let orphan = e2e_with("medications", |t| format!("{t}999,2020-02-10,329653008\n"));
    let no_death = e2e_with("patients", |t| {
        t.lines()
            .map(|l| l.rsplit_once(',').expect("four columns").0.to_string() + "\n")
            .collect()
    });
    for (names, skip, absent) in [
        (None, "skip_orphans", "absent"),
        (Some(caller), "SKIP", "ABSENT"),
    ] {
        let scan = Scan::new(plan.clone(), dates.clone());
        let scan = match names {
            Some(n) => scan.option_names(n),
            None => scan,
        };
        let e = scan.load(orphan.path()).expect_err("an orphan row fails");
        assert!(
            e.to_string().ends_with(&format!(
                "1 row(s) refer to a patient_id that is not in the patients table (first: \
                 patient_id 999 at line 56); fix the extract, or pass {skip} to skip them with a \
                 warning"
            )),
            "{e}"
        );
        let skipping = scan.clone().skip_orphans(true);
        let extract = skipping.load(orphan.path()).expect("skipped");
        let warnings = skipping.warnings(
            &extract.report,
            &extract.orphans_skipped,
            rxscan_core::results::Suppression::None,
        );
        assert!(
            warnings[0].ends_with(&format!(
                "medications.csv: skipped 1 row(s) whose patient_id is not in the patients \
                 table ({skip})"
            )),
            "{warnings:?}"
        );
        let bad = scan.clone().absent(vec!["medications.dmd_code".into()]);
        let e = bad.load(orphan.path()).expect_err("refused");
        assert_eq!(
            e.to_string(),
            format!(
                "{absent} medications.dmd_code: only patients.date_of_death and \
                 clinical_events.comparator may be declared absent"
            )
        );
        let e = scan.load(no_death.path()).expect_err("no date_of_death");
        assert!(
            e.to_string()
                .ends_with(&format!("or {absent} patients.date_of_death")),
            "{e}"
        );
    }
    // A parameter override, compiled with the library's names and with the caller's.
    for (names, param) in [(OptionNames::LIBRARY, "param"), (caller, "PARAM")] {
        let opts = CompileOptions {
            params: vec![("egfr_treshold".into(), "30".into())],
            names,
        };
        let dir = common::repo().join("rules/pincer");
        let Err(e) = rxscan_core::compile::compile_dir(&dir, &opts) else {
            panic!("an unknown parameter must not compile");
        };
        let text = rxscan_core::Error::from(e)
            .diagnostics(false)
            .expect("diagnostics");
        assert!(
            text.contains(&format!(
                "{param} egfr_treshold: this pack has no parameter `egfr_treshold`"
            )),
            "{text}"
        );
    }
}
