//! End-to-end tests of `rxscan_synth::generate`: determinism, schema, row-count ranges.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use rxscan_synth::{generate, Format, SynthConfig, SynthReport, CHUNK_PATIENTS};

fn codelists() -> PathBuf {
    if let Ok(p) = std::env::var("RXSCAN_CODELISTS") {
        return PathBuf::from(p);
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for cand in [
        manifest.join("../../rules/pincer/codelists"),
        manifest.join("../../../shared/pincer/codelists"),
    ] {
        if cand.join("pincer-nsaid.csv").exists() {
            return cand;
        }
    }
    panic!("PINCER codelists not found; set RXSCAN_CODELISTS");
}

fn config(out: &Path, patients: usize, seed: u64, format: Format) -> SynthConfig {
    SynthConfig {
        patients,
        practices: 7,
        seed,
        out: out.to_path_buf(),
        format,
        codelists: rxscan_synth::Codelists::Dir(codelists()),
        ..SynthConfig::default()
    }
}

fn run_with_threads(cfg: &SynthConfig, threads: usize) -> SynthReport {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(|| generate(cfg).unwrap())
}

const FILES: [&str; 8] = [
    "patients.csv",
    "practice_registrations.csv",
    "medications.csv",
    "clinical_events.csv",
    "patients.parquet",
    "practice_registrations.parquet",
    "medications.parquet",
    "clinical_events.parquet",
];

#[test]
fn same_seed_same_bytes_whatever_the_thread_count() {
    let n = CHUNK_PATIENTS + 700; // two chunks of different sizes
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    let ra = run_with_threads(&config(a.path(), n, 11, Format::Both), 1);
    let rb = run_with_threads(&config(b.path(), n, 11, Format::Both), 4);
    run_with_threads(&config(c.path(), n, 12, Format::Csv), 2);
    assert_eq!(ra.rows(), rb.rows());
    for f in FILES {
        let x = fs::read(a.path().join(f)).unwrap();
        let y = fs::read(b.path().join(f)).unwrap();
        assert!(x == y, "{f} differs between runs with the same seed");
    }
    let x = fs::read(a.path().join("medications.csv")).unwrap();
    let z = fs::read(c.path().join("medications.csv")).unwrap();
    assert!(x != z, "a different seed must give different data");
}

fn split(line: &str) -> Vec<&str> {
    line.split(',').collect()
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

fn is_code(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())
}

#[test]
fn written_files_follow_the_data_contract() {
    let dir = tempfile::tempdir().unwrap();
    let report = generate(&config(dir.path(), 1500, 3, Format::Both)).unwrap();
    assert_eq!(report.files.len(), 8);

    // CSV: headers, field counts, formats.
    let read = |t: &str| fs::read_to_string(dir.path().join(format!("{t}.csv"))).unwrap();
    let patients = read("patients");
    let mut lines = patients.lines();
    assert_eq!(
        lines.next(),
        Some("patient_id,date_of_birth,sex,date_of_death")
    );
    let mut ids = HashSet::new();
    for l in lines {
        let f = split(l);
        assert_eq!(f.len(), 4, "{l}");
        assert!(
            ids.insert(f[0].parse::<i64>().unwrap()),
            "duplicate id in {l}"
        );
        assert!(is_date(f[1]) && f[1].ends_with("-01"), "{l}");
        assert!(["M", "F", "U", "I"].contains(&f[2]), "{l}");
        assert!(f[3].is_empty() || is_date(f[3]), "{l}");
    }
    assert_eq!(ids.len() as u64, report.patients);

    let regs = read("practice_registrations");
    let mut lines = regs.lines();
    assert_eq!(
        lines.next(),
        Some("patient_id,start_date,end_date,practice_pseudo_id")
    );
    for l in lines {
        let f = split(l);
        assert_eq!(f.len(), 4, "{l}");
        assert!(ids.contains(&f[0].parse::<i64>().unwrap()));
        assert!(is_date(f[1]) && (f[2].is_empty() || is_date(f[2])), "{l}");
        assert!(f[3].parse::<u32>().is_ok(), "{l}");
    }

    let meds = read("medications");
    let mut lines = meds.lines();
    assert_eq!(lines.next(), Some("patient_id,date,dmd_code"));
    let mut first_ids = Vec::new();
    for l in lines {
        let f = split(l);
        assert_eq!(f.len(), 3, "{l}");
        assert!(is_date(f[1]) && is_code(f[2]), "{l}");
        assert!(f[1] >= "2015-01-01" && f[1] <= "2023-12-31", "{l}");
        if first_ids.len() < 50 {
            first_ids.push(f[0].to_string());
        }
    }
    // Rows are interleaved, not grouped by patient.
    let distinct: HashSet<_> = first_ids.iter().collect();
    assert!(
        distinct.len() > 20,
        "first medication rows come from few patients"
    );

    let events = read("clinical_events");
    let mut lines = events.lines();
    assert_eq!(
        lines.next(),
        Some("patient_id,date,snomedct_code,numeric_value,comparator")
    );
    let mut comparators = HashSet::new();
    let mut with_value = 0;
    for l in lines {
        let f = split(l);
        assert_eq!(f.len(), 5, "{l}");
        assert!(is_date(f[1]) && is_code(f[2]), "{l}");
        if !f[3].is_empty() {
            with_value += 1;
            assert!(f[3].parse::<f64>().is_ok(), "{l}");
        }
        assert!(["", "~", "=", ">=", ">", "<", "<="].contains(&f[4]), "{l}");
        comparators.insert(f[4].to_string());
    }
    assert!(with_value > 0);
    for c in ["", "=", ">", "<"] {
        assert!(comparators.contains(c), "no comparator {c:?} written");
    }

    // Parquet: same rows, typed columns.
    let pq = |t: &str| {
        let f = fs::File::open(dir.path().join(format!("{t}.parquet"))).unwrap();
        ParquetReader::new(f).finish().unwrap()
    };
    let expect = [
        (
            "patients",
            report.patients,
            vec![
                ("patient_id", DataType::Int64),
                ("date_of_birth", DataType::Date),
                ("sex", DataType::String),
                ("date_of_death", DataType::Date),
            ],
        ),
        (
            "practice_registrations",
            report.practice_registrations,
            vec![
                ("patient_id", DataType::Int64),
                ("start_date", DataType::Date),
                ("end_date", DataType::Date),
                ("practice_pseudo_id", DataType::Int64),
            ],
        ),
        (
            "medications",
            report.medications,
            vec![
                ("patient_id", DataType::Int64),
                ("date", DataType::Date),
                ("dmd_code", DataType::String),
            ],
        ),
        (
            "clinical_events",
            report.clinical_events,
            vec![
                ("patient_id", DataType::Int64),
                ("date", DataType::Date),
                ("snomedct_code", DataType::String),
                ("numeric_value", DataType::Float64),
                ("comparator", DataType::String),
            ],
        ),
    ];
    for (t, rows, cols) in expect {
        let df = pq(t);
        assert_eq!(df.height() as u64, rows, "{t}");
        let got: Vec<(String, DataType)> = df
            .schema()
            .iter()
            .map(|(n, d)| (n.to_string(), d.clone()))
            .collect();
        let want: Vec<(String, DataType)> =
            cols.into_iter().map(|(n, d)| (n.to_string(), d)).collect();
        assert_eq!(got, want, "{t}");
    }
    // Values agree between formats: first event row.
    let ev = pq("clinical_events");
    let first_csv = events.lines().nth(1).unwrap();
    let code = ev
        .column("snomedct_code")
        .unwrap()
        .str()
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(split(first_csv)[2], code);
}

#[test]
fn row_counts_are_realistic() {
    let dir = tempfile::tempdir().unwrap();
    let n = 4000;
    let r = generate(&config(dir.path(), n, 5, Format::Csv)).unwrap();
    assert_eq!(r.patients, n as u64);
    let per = |x: u64| x as f64 / n as f64;
    assert!(
        (1.0..1.5).contains(&per(r.practice_registrations)),
        "registrations per patient {}",
        per(r.practice_registrations)
    );
    assert!(
        (30.0..=60.0).contains(&per(r.medications)),
        "medication rows per patient {}",
        per(r.medications)
    );
    assert!(
        (50.0..=100.0).contains(&per(r.clinical_events)),
        "event rows per patient {}",
        per(r.clinical_events)
    );
    let patients = fs::read_to_string(dir.path().join("patients.csv")).unwrap();
    let deaths = patients
        .lines()
        .skip(1)
        .filter(|l| !l.ends_with(','))
        .count();
    let children = patients
        .lines()
        .skip(1)
        .filter(|l| split(l)[1] > "2002-03-01")
        .count();
    assert!(deaths > n / 100 && deaths < n / 5, "deaths {deaths}");
    assert!(children > n / 10 && children < n / 3, "children {children}");
    let regs = fs::read_to_string(dir.path().join("practice_registrations.csv")).unwrap();
    let practices: HashSet<&str> = regs.lines().skip(1).map(|l| split(l)[3]).collect();
    assert_eq!(practices.len(), 7);
    let ended = regs
        .lines()
        .skip(1)
        .filter(|l| !split(l)[2].is_empty())
        .count();
    assert!(ended > n / 20, "ended registrations {ended}");

    // A smaller background gives a smaller extract with the same clinical content.
    let dir2 = tempfile::tempdir().unwrap();
    let mut cfg = config(dir2.path(), n, 5, Format::Csv);
    cfg.background = 0.2;
    let r2 = generate(&cfg).unwrap();
    assert!(r2.medications < r.medications && r2.clinical_events < r.clinical_events);
}

#[test]
fn bad_configs_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), 0, 1, Format::Csv);
    assert!(generate(&cfg).is_err());
    cfg.patients = 10;
    cfg.codelists = rxscan_synth::Codelists::Dir(dir.path().join("missing"));
    assert!(generate(&cfg).is_err());
    assert_eq!("Parquet".parse::<Format>().unwrap(), Format::Parquet);
    assert!("xlsx".parse::<Format>().is_err());
}
