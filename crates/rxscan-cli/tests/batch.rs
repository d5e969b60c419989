//! Batch scans of a folder of practice folders (a PCN): the same results as the same patients
//! in one extract, ids kept apart per folder, empty practices, a bad folder named, and
//! `--keep-going`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

fn ok(run: &Output) {
    assert!(
        run.status.success(),
        "rxscan failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
}

fn scan(data: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "scan",
        "--data",
        data.to_str().expect("utf8"),
        "--index-date",
        "2020-03-01",
        "--index-date",
        "2020-04-01",
        "--out",
        out.to_str().expect("utf8"),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    rxscan(&args)
}

const TABLES: [&str; 4] = [
    "patients",
    "practice_registrations",
    "medications",
    "clinical_events",
];

/// A CSV table as its header and rows.
fn read_table(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).expect("read csv");
    let header = r
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let rows = r
        .records()
        .map(|rec| rec.expect("row").iter().map(String::from).collect())
        .collect();
    (header, rows)
}

fn write_table(path: &Path, header: &[String], rows: &[Vec<String>]) {
    let mut w = csv::Writer::from_path(path).expect("write csv");
    w.write_record(header).expect("header");
    for row in rows {
        w.write_record(row).expect("row");
    }
    w.flush().expect("flush");
}

fn copy_extract(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for t in TABLES {
        std::fs::copy(from.join(format!("{t}.csv")), to.join(format!("{t}.csv"))).expect("copy");
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Three practice folders from three synthetic extracts, their registrations without a
/// `practice_pseudo_id` column (so each takes its folder's name), against the same patients in
/// one extract: ids offset per folder to make them unique, the folder's name as the practice.
/// Every output must be the same, patients.csv once the offsets are taken back.
#[test]
fn practice_folders_give_the_results_of_the_same_patients_in_one_extract() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (pcn, one) = (tmp.path().join("pcn"), tmp.path().join("one"));
    std::fs::create_dir_all(&one).expect("mkdir");
    let folders = ["north", "river", "south"];
    let offset = |f: usize| (f as i64 + 1) * 1_000_000;
    let mut combined: Vec<(Vec<String>, Vec<Vec<String>>)> = Vec::new();
    for (f, name) in folders.iter().enumerate() {
        let dir = pcn.join(name);
        let seed = (f + 7).to_string();
        ok(&rxscan(&[
            "synth",
            "--patients",
            "700",
            "--practices",
            "1",
            "--seed",
            &seed,
            "--enrich",
            "20",
            "--out",
            dir.to_str().expect("utf8"),
        ]));
        let regs = dir.join("practice_registrations.csv");
        let (header, rows) = read_table(&regs);
        let col = header
            .iter()
            .position(|h| h == "practice_pseudo_id")
            .expect("synth writes practice_pseudo_id");
        let drop = |v: &Vec<String>| -> Vec<String> {
            v.iter()
                .enumerate()
                .filter(|(i, _)| *i != col)
                .map(|(_, s)| s.clone())
                .collect()
        };
        write_table(
            &regs,
            &drop(&header),
            &rows.iter().map(drop).collect::<Vec<_>>(),
        );
        for (t, table) in TABLES.iter().enumerate() {
            let (mut header, mut rows) = read_table(&dir.join(format!("{table}.csv")));
            assert_eq!(header[0], "patient_id");
            for row in &mut rows {
                let id: i64 = row[0].parse().expect("integer id");
                row[0] = (id + offset(f)).to_string();
                if *table == "practice_registrations" {
                    row.push(name.to_string());
                }
            }
            if *table == "practice_registrations" {
                header.push("practice_pseudo_id".into());
            }
            if f == 0 {
                combined.push((header, rows));
            } else {
                combined[t].1.extend(rows);
            }
        }
    }
    for (t, table) in TABLES.iter().enumerate() {
        write_table(
            &one.join(format!("{table}.csv")),
            &combined[t].0,
            &combined[t].1,
        );
    }
    let (out_pcn, out_one) = (tmp.path().join("out-pcn"), tmp.path().join("out-one"));
    ok(&scan(&pcn, &out_pcn, &[]));
    ok(&scan(&one, &out_one, &[]));
    for file in ["summary.csv", "composites.csv"] {
        assert_eq!(
            read(&out_pcn.join(file)),
            read(&out_one.join(file)),
            "{file}"
        );
    }
    let summary = read(&out_pcn.join("summary.csv"));
    for name in folders {
        assert!(
            summary.contains(&format!(",{name},")),
            "practice {name} (the folder's name) missing from summary.csv"
        );
    }
    // Some measure has a numerator, so the comparison is not of empty files.
    assert!(summary.lines().skip(1).any(|l| {
        let f: Vec<&str> = l.split(',').collect();
        f[3] != "0"
    }));
    let (header, mut rows) = read_table(&out_pcn.join("patients.csv"));
    for row in &mut rows {
        let f = folders.iter().position(|n| *n == row[2]).expect("folder");
        row[1] = (row[1].parse::<i64>().expect("id") + offset(f)).to_string();
    }
    let (header_one, rows_one) = read_table(&out_one.join("patients.csv"));
    assert_eq!(header, header_one);
    assert!(!rows.is_empty());
    assert_eq!(rows, rows_one, "patients.csv");
}

/// The hand-worked e2e extract twice, in two folders with the same patient ids: two sets of
/// patients, so every count is twice the reviewed one (and every rate the same).
#[test]
fn the_same_ids_in_two_folders_are_two_patients() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let pcn = tmp.path().join("pcn");
    copy_extract(&repo().join("testdata/e2e"), &pcn.join("a"));
    copy_extract(&repo().join("testdata/e2e"), &pcn.join("b"));
    let out = tmp.path().join("out");
    ok(&scan(&pcn, &out, &[]));
    let (header, got) = read_table(&out.join("summary.csv"));
    let (_, want) = read_table(&repo().join("testdata/e2e/expected/summary.csv"));
    assert_eq!(got.len(), want.len());
    let (num, den) = (
        header.iter().position(|h| h == "numerator").expect("col"),
        header.iter().position(|h| h == "denominator").expect("col"),
    );
    for (g, w) in got.iter().zip(&want) {
        for c in [num, den] {
            let (gn, wn): (u64, u64) = (g[c].parse().expect("n"), w[c].parse().expect("n"));
            assert_eq!(gn, 2 * wn, "{} {} {}", w[0], w[1], w[2]);
        }
        assert_eq!(g[5], w[5], "rate of {} {} {}", w[0], w[1], w[2]);
    }
    // Each patient row of the reviewed file appears twice.
    let patients = read(&out.join("patients.csv"));
    let reviewed = read(&repo().join("testdata/e2e/expected/patients.csv"));
    assert_eq!(
        patients.lines().count() - 1,
        2 * (reviewed.lines().count() - 1)
    );
}

/// A practice folder of headers only is an empty practice (a warning, no rows); so is one
/// extract of headers only (the outputs with their headers only).
#[test]
fn empty_practices_are_warned_about_not_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let pcn = tmp.path().join("pcn");
    copy_extract(&repo().join("testdata/e2e"), &pcn.join("full"));
    let empty = pcn.join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    for t in TABLES {
        let text = read(&repo().join(format!("testdata/e2e/{t}.csv")));
        let header = text.lines().next().expect("header");
        std::fs::write(empty.join(format!("{t}.csv")), format!("{header}\n")).expect("write");
    }
    let out = tmp.path().join("out");
    let run = scan(&pcn, &out, &[]);
    ok(&run);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("practice folder empty: no patients"),
        "{stderr}"
    );
    assert_eq!(
        read(&out.join("summary.csv")),
        read(&repo().join("testdata/e2e/expected/summary.csv"))
    );

    let out = tmp.path().join("out-empty");
    let run = scan(&empty, &out, &[]);
    ok(&run);
    for (file, header) in [
        (
            "summary.csv",
            "index_date,practice_pseudo_id,measure,numerator,denominator,rate\n",
        ),
        (
            "patients.csv",
            "index_date,patient_id,practice_pseudo_id,measure,numerator\n",
        ),
        (
            "composites.csv",
            "index_date,practice_pseudo_id,composite,denominator,n_numerators,patients\n",
        ),
    ] {
        assert_eq!(read(&out.join(file)), header, "{file}");
    }
}

/// A PCN folder with one good practice and one whose medications have a bad date.
fn pcn_with_a_bad_folder(root: &Path) -> PathBuf {
    let pcn = root.join("pcn");
    copy_extract(&repo().join("testdata/e2e"), &pcn.join("good"));
    copy_extract(&repo().join("testdata/e2e"), &pcn.join("broken"));
    let meds = pcn.join("broken/medications.csv");
    let text = read(&meds).replacen("2020-02-10", "2020-02-31", 1);
    std::fs::write(&meds, text).expect("write");
    pcn
}

#[test]
fn a_bad_file_stops_the_run_naming_folder_and_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let pcn = pcn_with_a_bad_folder(tmp.path());
    let out = tmp.path().join("out");
    let run = scan(&pcn, &out, &[]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("practice folder broken:"), "{stderr}");
    assert!(stderr.contains("medications.csv"), "{stderr}");
    assert!(stderr.contains("2020-02-31"), "{stderr}");
    assert!(!out.exists(), "nothing is written when a folder fails");
}

#[test]
fn keep_going_writes_the_other_practices_and_lists_the_failures() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let pcn = pcn_with_a_bad_folder(tmp.path());
    let out = tmp.path().join("out");
    let run = scan(&pcn, &out, &["--keep-going"]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("error: practice folder broken:"),
        "{stderr}"
    );
    assert!(stderr.contains("1 practice folder(s) failed"), "{stderr}");
    // The good folder's results are the reviewed ones.
    assert_eq!(
        read(&out.join("summary.csv")),
        read(&repo().join("testdata/e2e/expected/summary.csv"))
    );
    let errors = read(&out.join("errors.txt"));
    assert_eq!(errors.lines().count(), 1, "{errors}");
    assert!(errors.starts_with("practice folder broken:"), "{errors}");
    assert!(errors.contains("medications.csv") && errors.contains("2020-02-31"));

    // Under suppression errors.txt names the folder but quotes nothing from the data; a
    // clean run afterwards removes it.
    let run = scan(&pcn, &out, &["--keep-going", "--suppress"]);
    assert_eq!(run.status.code(), Some(2));
    let errors = read(&out.join("errors.txt"));
    assert!(
        errors.starts_with("practice folder broken: failed"),
        "{errors}"
    );
    assert!(!errors.contains("2020-02-31"), "{errors}");
    std::fs::remove_dir_all(pcn.join("broken")).expect("rm");
    ok(&scan(&pcn, &out, &[]));
    assert!(!out.join("errors.txt").exists());
}
