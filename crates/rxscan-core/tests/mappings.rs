//! Column mappings over Parquet (the CLI's tests/inputs.rs covers CSV): a Parquet extract whose
//! columns have other names is read through a mapping to the same results as the contract's
//! names; and a glob naming one file is that file.

mod common;

use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;
use rxscan_core::eval::EvalOptions;
use rxscan_core::extract::Mapping;
use rxscan_core::{IndexDates, Scan};

const TABLES: [&str; 4] = [
    "patients",
    "practice_registrations",
    "medications",
    "clinical_events",
];

/// `testdata/e2e` as Parquet in `dir`, every column renamed `<Table> <column>` (upper case).
fn renamed_parquet(dir: &Path) {
    for t in TABLES {
        let mut df = CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(
                common::repo().join(format!("testdata/e2e/{t}.csv")),
            ))
            .expect("reader")
            .finish()
            .expect("read");
        let names: Vec<String> = df
            .get_column_names()
            .iter()
            .map(|c| format!("{t} {}", c.to_uppercase()))
            .collect();
        df.set_column_names(&names).expect("rename");
        let file = std::fs::File::create(dir.join(format!("export_{t}.parquet"))).expect("create");
        ParquetWriter::new(file).finish(&mut df).expect("write");
    }
}

fn mapping_text(file_of: impl Fn(&str) -> String) -> String {
    let mut text = String::new();
    for (t, cols) in [
        (
            "patients",
            &["patient_id", "date_of_birth", "sex", "date_of_death"][..],
        ),
        (
            "practice_registrations",
            &["patient_id", "start_date", "end_date", "practice_pseudo_id"],
        ),
        ("medications", &["patient_id", "date", "dmd_code"]),
        (
            "clinical_events",
            &[
                "patient_id",
                "date",
                "snomedct_code",
                "numeric_value",
                "comparator",
            ],
        ),
    ] {
        text.push_str(&format!(
            "[{t}]\nfile = \"{}\"\n[{t}.columns]\n",
            file_of(t)
        ));
        for c in cols {
            text.push_str(&format!("{c} = \"{t} {}\"\n", c.to_uppercase()));
        }
    }
    text
}

/// Every (date, practice, measure) count of a scan of `data` through `mapping`.
fn counts(data: &Path, mapping: Option<Mapping>) -> Vec<(u64, u64)> {
    let plan = common::pincer();
    let dates =
        IndexDates::of(["2020-03-01", "2020-04-01"].map(|d| IndexDates::parse(d).expect("date")))
            .expect("dates");
    let scan = Scan::new(plan, dates).mapping(mapping.map(Arc::new));
    let ex = scan
        .load(data)
        .unwrap_or_else(|e| panic!("{}", e.render(false)));
    let r = scan
        .evaluate(&ex, &EvalOptions::default())
        .expect("evaluate");
    let mut out = Vec::new();
    for d in 0..2 {
        for p in 0..r.practices.len() {
            for m in 0..r.measures.len() {
                out.push(r.count(d, p, m));
            }
        }
    }
    out
}

#[test]
fn a_renamed_parquet_extract_reads_through_a_mapping_as_the_contract_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    renamed_parquet(dir.path());
    let text = mapping_text(|t| format!("export_{t}.parquet"));
    let mapping = Mapping::parse(dir.path().join("m.toml"), text).expect("mapping");
    let plain = counts(&common::repo().join("testdata/e2e"), None);
    assert!(
        plain.iter().any(|&(n, _)| n > 0),
        "the e2e extract has numerators"
    );
    assert_eq!(counts(dir.path(), Some(mapping)), plain);
}

#[test]
fn a_glob_concatenates_its_files_in_path_order() {
    // testdata/e2e with patients, registrations and medications each split in two files
    // (`part-1.csv`, `part-2.csv` under a folder per table): the same counts as the whole.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::new();
    for t in TABLES {
        let whole = std::fs::read_to_string(common::repo().join(format!("testdata/e2e/{t}.csv")))
            .expect("read");
        let (header, rows) = whole.split_once('\n').expect("header");
        let rows: Vec<&str> = rows.lines().collect();
        let half = rows.len() / 2;
        std::fs::create_dir(dir.path().join(t)).expect("mkdir");
        for (k, part) in [&rows[..half], &rows[half..]].iter().enumerate() {
            let body: String = part.iter().map(|r| format!("{r}\n")).collect();
            let path = dir.path().join(t).join(format!("part-{}.csv", k + 1));
            std::fs::write(path, format!("{header}\n{body}")).expect("write");
        }
        text.push_str(&format!("[{t}]\nfile = \"{t}/part-*.csv\"\n"));
    }
    let mapping = Mapping::parse(dir.path().join("m.toml"), text.clone()).expect("mapping");
    assert_eq!(
        counts(dir.path(), Some(mapping)),
        counts(&common::repo().join("testdata/e2e"), None)
    );
    // A patient in both files is a duplicate, named with the file of its first row.
    let p1 = dir.path().join("patients/part-1.csv");
    let first = std::fs::read_to_string(&p1).expect("read");
    let row = first.lines().nth(1).expect("a row").to_string();
    let p2 = dir.path().join("patients/part-2.csv");
    let second = std::fs::read_to_string(&p2).expect("read");
    std::fs::write(&p2, format!("{second}{row}\n")).expect("write");
    let mapping = Mapping::parse(dir.path().join("m.toml"), text).expect("mapping");
    let dates = IndexDates::of([IndexDates::parse("2020-03-01").expect("date")]).expect("dates");
    let scan = Scan::new(common::pincer(), dates).mapping(Some(Arc::new(mapping)));
    let err = scan
        .load(dir.path())
        .expect_err("a duplicate")
        .render(false);
    let lines = second.lines().count() + 1;
    assert!(
        err.contains(&format!("patients/part-2.csv:line {lines}: column 1 `patient_id`: duplicate patient (first at {}:line 2)", p1.display())),
        "{err}"
    );
}
