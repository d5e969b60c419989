//! Evidence through the binary: `rxscan why` for a flagged and a non-flagged patient
//! (snapshots, and the facts in them worked by hand from the fixture), `rxscan explain`, the
//! action lists (their rows and order), a later run replacing the whole `action_lists/`
//! folder, and no evidence of any kind under `--suppress`.

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

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).expect("utf8")
}

fn scan(data: &str, date: &str, out: &Path, extra: &[&str]) {
    let o = out.to_str().expect("utf8");
    let mut args = vec![
        "scan",
        "--data",
        data,
        "--index-date",
        date,
        "--out",
        o,
        "-q",
    ];
    args.extend(extra);
    stdout(&rxscan(&args));
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn why_for_a_flagged_patient() {
    // li patient 11 at 2020-03-01: lithium 2019-10-15 and 2020-01-15, a level 2019-11-30 (the
    // day before I-3m): flagged, and the level is named as the last before the window.
    let text = stdout(&rxscan(&[
        "why",
        "--data",
        "testdata/boundaries/li",
        "--patient",
        "11",
        "--index-date",
        "2020-03-01",
        "--measure",
        "li",
    ]));
    assert!(text.contains("FLAGGED: in the numerator"), "{text}");
    assert!(text.contains("searched lith_lev in 2019-12-01..2020-03-01: nothing"));
    assert!(text.contains("last before the window: clinical_events 2019-11-30"));
    assert!(text.contains("medications 2019-10-15"));
    assert!(text.contains("medications 2020-01-15"));
    insta::assert_snapshot!("why_flagged_li_11", text);
}

#[test]
fn why_for_a_patient_not_flagged() {
    // li patient 1: the same lithium, and a level on 2020-01-15 inside W3: in the
    // denominator, not in the numerator, and the level is the row that says why.
    let text = stdout(&rxscan(&[
        "why",
        "--data",
        "testdata/boundaries/li",
        "--patient",
        "1",
        "--index-date",
        "2020-03-01",
        "--measure",
        "li",
    ]));
    assert!(
        text.contains("not flagged: in the denominator, not in the numerator"),
        "{text}"
    );
    assert!(text.contains("- clinical_events 2020-01-15"));
    insta::assert_snapshot!("why_not_flagged_li_1", text);
}

#[test]
fn why_names_an_unknown_patient_and_measure() {
    let o = rxscan(&[
        "why",
        "--data",
        "testdata/boundaries/li",
        "--patient",
        "999",
        "--index-date",
        "2020-03-01",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("patient 999 is not in the extract"));
    let o = rxscan(&[
        "why",
        "--data",
        "testdata/boundaries/li",
        "--patient",
        "1",
        "--index-date",
        "2020-03-01",
        "--measure",
        "zz",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no measure `zz`"));
}

#[test]
fn explain_expands_the_shared_definitions() {
    let text = stdout(&rxscan(&["explain", "li"]));
    for want in [
        "## What it flags",
        "denominator = li_denominator",
        "numerator = not clinical_events.has(lith_lev, w3)",
        "li_denominator = base_population and medications.has(lith, w6_3) and medications.has(lith, w3)",
        "base_population = registered and not dead and age >= 18 and age <= 120 and sex in (\"M\", \"F\")",
        "w6_3 = [index - 6 months, index - 3 months]",
        "w3 = [index - 3 months, index]",
        "lith_lev: ",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

#[test]
fn action_lists_one_row_per_flag_sorted_with_a_reason() {
    let out = tempfile::tempdir().expect("tempdir");
    scan("testdata/boundaries/a", "2020-03-01", out.path(), &[]);
    assert_eq!(
        names(out.path()),
        [
            "action_lists",
            "composites.csv",
            "evidence.jsonl",
            "patients.csv",
            "practices.csv",
            "report.html",
            "run.json",
            "summary.csv"
        ]
    );
    // Flagged at 2020-03-01 (testdata/boundaries/a/README.md): 1, 3, 5, 8, 10, 13, 14, 15, 17;
    // odd ids at practice 1, even at practice 2; all born 1950-06-01 (age 69). Patient 14's
    // NSAID is flurbiprofen eye drops (its term in pincer-nsaid.csv); patient 10's last PPI is
    // omeprazole on 2019-11-30, the day before the window (patient 8's is after I).
    let lists = out.path().join("action_lists");
    assert_eq!(names(&lists), ["1.csv", "2.csv"]);
    let p2 = std::fs::read_to_string(lists.join("2.csv")).expect("2.csv");
    let title = "\"Age 65 or over, prescribed an oral NSAID, without gastroprotection\"";
    assert_eq!(
        p2,
        format!(
            "measure,patient_id,reason,title,index_date\n\
             a,8,Age 69; Ibuprofen 400mg tablets 2020-01-15; no ppi 2019-12-01..2020-03-01,{title},2020-03-01\n\
             a,10,Age 69; Ibuprofen 400mg tablets 2020-01-15; no ppi 2019-12-01..2020-03-01 (last 2019-11-30),{title},2020-03-01\n\
             a,14,Age 69; Flurbiprofen sodium 0.03% conventional release eye drops 2020-01-15; no ppi 2019-12-01..2020-03-01,{title},2020-03-01\n"
        )
    );
    let p1 = std::fs::read_to_string(lists.join("1.csv")).expect("1.csv");
    let ids: Vec<&str> = p1
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    assert_eq!(ids, ["1", "3", "5", "13", "15", "17"]);
    // The report carries the same lists: a table per practice, its rows the list's, in order.
    let report = std::fs::read_to_string(out.path().join("report.html")).expect("report");
    let section = report
        .split("<section id=\"actions\"")
        .nth(1)
        .expect("an action-list section")
        .split("</section>")
        .next()
        .expect("section");
    for (practice, list) in [("1", &p1), ("2", &p2)] {
        let table = section
            .split(&format!("<h3>Practice {practice}</h3>"))
            .nth(1)
            .expect("the practice's table")
            .split("</table>")
            .next()
            .expect("table");
        let rows: Vec<(String, String)> = table
            .split("<tr><td>")
            .skip(1)
            .map(|row| {
                let cells: Vec<&str> = row.split("</td><td>").collect();
                let reason = cells[2].split("</td>").next().expect("reason");
                (cells[1].to_string(), reason.to_string())
            })
            .collect();
        let want: Vec<(String, String)> = csv::Reader::from_reader(list.as_bytes())
            .records()
            .map(|r| {
                let r = r.expect("row");
                (r[1].to_string(), r[2].to_string())
            })
            .collect();
        assert!(!want.is_empty());
        // Every date and date range in a reason is kept whole on a line (a span the page does
        // not break); the text a reader sees is the list's.
        assert!(rows
            .iter()
            .all(|(_, r)| r.contains("no ppi <span class=\"date\">2019-12-01..2020-03-01</span>")));
        let rows: Vec<(String, String)> = rows
            .into_iter()
            .map(|(p, r)| {
                let r = r
                    .replace("<span class=\"date\">", "")
                    .replace("</span>", "")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\"")
                    .replace("&#39;", "'")
                    .replace("&amp;", "&");
                (p, r)
            })
            .collect();
        assert_eq!(rows, want, "practice {practice}");
    }
    // One evidence line per flag.
    let evidence = std::fs::read_to_string(out.path().join("evidence.jsonl")).expect("jsonl");
    assert_eq!(evidence.lines().count(), 9);
    assert!(evidence
        .lines()
        .all(|l| l.starts_with("{\"index_date\":\"2020-03-01\"") && l.ends_with("]}")));
    assert!(evidence.contains(
        "\"last_before\":{\"table\":\"medications\",\"codelist\":\"ppi\",\"code\":\"317291008\""
    ));

    // A later run into the same folder replaces the whole folder: no list of a practice the
    // new run did not flag is left behind.
    std::fs::write(lists.join("stale.csv"), "x").expect("write");
    scan("testdata/boundaries/li", "2020-03-01", out.path(), &[]);
    let now = names(&lists);
    assert!(!now.contains(&"stale.csv".to_string()), "{now:?}");
    for f in &now {
        let text = std::fs::read_to_string(lists.join(f)).expect("list");
        assert!(text.lines().skip(1).all(|l| l.starts_with("li,")), "{text}");
    }
}

#[test]
fn no_evidence_or_action_lists_under_suppress() {
    let out = tempfile::tempdir().expect("tempdir");
    scan("testdata/boundaries/a", "2020-03-01", out.path(), &[]);
    assert!(out.path().join("evidence.jsonl").exists());
    assert!(out.path().join("action_lists").is_dir());
    scan(
        "testdata/boundaries/a",
        "2020-03-01",
        out.path(),
        &["--suppress"],
    );
    let shared = [
        "composites.csv",
        "practices.csv",
        "report.html",
        "run.json",
        "summary.csv",
    ];
    assert_eq!(names(out.path()), shared);
    // Nor does the report show action lists.
    let report = std::fs::read_to_string(out.path().join("report.html")).expect("report");
    assert!(!report.contains("id=\"actions\""));
    // And a first run under --suppress writes none either.
    let fresh = tempfile::tempdir().expect("tempdir");
    scan(
        "testdata/boundaries/a",
        "2020-03-01",
        fresh.path(),
        &["--suppress"],
    );
    assert_eq!(names(fresh.path()), shared);
}

/// `why` reads an export through a mapping as `scan` does: the EMIS-like test export (the e2e
/// extract in another layout) gives the tree the e2e extract gives. In a PCN folder it asks
/// for the practice folder (patient ids are only unique within one export).
#[test]
fn why_reads_a_mapped_export_and_asks_for_the_practice_folder() {
    let args = |data: &str, mapping: Option<&str>| {
        let mut a = vec![
            "why",
            "--data",
            data,
            "--patient",
            "1",
            "--index-date",
            "2020-03-01",
            "--measure",
            "a",
        ];
        if let Some(m) = mapping {
            a.extend(["--mapping", m]);
        }
        rxscan(&a)
    };
    let plain = args("testdata/e2e", None);
    let mapped = args(
        "testdata/mappings/emis-like",
        Some("docs/mappings/emis-like.toml"),
    );
    // Patient 1 is in a's numerator at 2020-03-01 (testdata/e2e/expected/patients.csv).
    assert!(stdout(&plain).contains("FLAGGED"), "{}", stdout(&plain));
    assert_eq!(stdout(&mapped), stdout(&plain));

    let pcn = tempfile::tempdir().expect("tempdir");
    for name in ["north", "south"] {
        let dir = pcn.path().join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        for t in [
            "patients",
            "practice_registrations",
            "medications",
            "clinical_events",
        ] {
            std::fs::copy(
                repo().join(format!("testdata/e2e/{t}.csv")),
                dir.join(format!("{t}.csv")),
            )
            .expect("copy");
        }
    }
    let run = args(pcn.path().to_str().expect("utf8"), None);
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("give the patient's practice folder (one of: north, south)"),
        "{err}"
    );
}
