//! End-to-end: the `rxscan` binary on a small multi-practice extract, compared with output
//! files worked out by hand from the specification (testdata/e2e/README.md explains every row).

use std::path::PathBuf;
use std::process::Command;

// The pack's measure ids, shared with rxscan-core's tests (plain constants, no dependencies).
#[path = "../../rxscan-core/tests/common/pincer.rs"]
mod pincer;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rxscan(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rxscan"))
        .current_dir(repo())
        .args(args)
        .output()
        .expect("run rxscan")
}

#[test]
fn scan_writes_the_three_reviewed_files() {
    let out = tempfile::tempdir().expect("tempdir");
    let o = out.path().to_str().expect("utf8");
    let run = rxscan(&[
        "scan",
        "--rules",
        "rules/pincer",
        "--data",
        "testdata/e2e",
        "--index-date",
        "2020-03-01",
        "--index-date",
        "2020-04-01",
        "--out",
        o,
        "--quiet",
    ]);
    assert!(
        run.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    for file in ["summary.csv", "patients.csv", "composites.csv"] {
        let got = std::fs::read_to_string(out.path().join(file)).expect("output file");
        let want = std::fs::read_to_string(repo().join("testdata/e2e/expected").join(file))
            .expect("expected file");
        assert_eq!(
            got, want,
            "{file} differs from testdata/e2e/expected/{file}"
        );
    }
    let mut leftovers: Vec<_> = std::fs::read_dir(out.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    leftovers.sort();
    // The three reviewed files, the comparison and the report (tests/report.rs), run.json
    // (tests/inputs.rs) and the evidence outputs (evidence.jsonl and action_lists/, checked in
    // tests/evidence.rs); no temporaries.
    assert_eq!(
        leftovers,
        [
            "action_lists",
            "composites.csv",
            "evidence.jsonl",
            "patients.csv",
            "practices.csv",
            "report.html",
            "run.json",
            "summary.csv"
        ],
        "only the output files, no temporaries: {leftovers:?}"
    );

    // practices.csv repeats summary.csv's counts and rates for each practice, and its total
    // rows are the sums over the practices (the reviewed file's rows, added up here).
    let summary = std::fs::read_to_string(out.path().join("summary.csv")).expect("summary");
    let practices = std::fs::read_to_string(out.path().join("practices.csv")).expect("practices");
    let rows: Vec<Vec<&str>> = practices
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let practice_rows: Vec<String> = rows
        .iter()
        .filter(|r| r[1] == "practice")
        .map(|r| [r[0], r[2], r[3], r[4], r[5], r[6]].join(","))
        .collect();
    assert_eq!(practice_rows, summary.lines().skip(1).collect::<Vec<_>>());
    let mut totals = 0;
    for t in rows.iter().filter(|r| r[1] == "total") {
        let (mut n, mut d) = (0u64, 0u64);
        for line in summary.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            if f[0] == t[0] && f[2] == t[3] {
                n += f[3].parse::<u64>().expect("n");
                d += f[4].parse::<u64>().expect("d");
            }
        }
        assert_eq!(
            (t[4], t[5]),
            (n.to_string().as_str(), d.to_string().as_str()),
            "{t:?}"
        );
        totals += 1;
    }
    let mut dates: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    dates.dedup();
    assert_eq!(
        totals,
        14 * dates.len(),
        "one total row per date and measure"
    );
}

#[test]
fn a_monthly_series_equals_separate_dates() {
    let series = tempfile::tempdir().expect("tempdir");
    let run = rxscan(&[
        "scan",
        "--data",
        "testdata/e2e",
        "--from",
        "2020-03-01",
        "--to",
        "2020-04-01",
        "--out",
        series.path().to_str().expect("utf8"),
        "--quiet",
    ]);
    assert!(
        run.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let got = std::fs::read_to_string(series.path().join("summary.csv")).expect("summary");
    let want = std::fs::read_to_string(repo().join("testdata/e2e/expected/summary.csv"))
        .expect("expected");
    assert_eq!(got, want);
}

#[test]
fn thread_count_does_not_change_results() {
    let mut outputs = Vec::new();
    for threads in ["1", "2", "3"] {
        let out = tempfile::tempdir().expect("tempdir");
        let run = rxscan(&[
            "scan",
            "--data",
            "testdata/e2e",
            "--index-date",
            "2020-03-01",
            "--out",
            out.path().to_str().expect("utf8"),
            "--threads",
            threads,
            "--quiet",
        ]);
        assert!(run.status.success());
        let files: Vec<String> = ["summary.csv", "patients.csv", "composites.csv"]
            .iter()
            .map(|f| std::fs::read_to_string(out.path().join(f)).expect("file"))
            .collect();
        outputs.push(files);
    }
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
}

#[test]
fn zero_threads_is_an_error_in_every_command_that_takes_them() {
    let out = tempfile::tempdir().expect("tempdir");
    let o = out.path().join("o");
    let o = o.to_str().expect("utf8");
    let scan = [
        "scan",
        "--data",
        "testdata/e2e",
        "--index-date",
        "2020-03-01",
    ];
    for args in [&scan[..], &["synth", "--patients", "10"]] {
        let mut args = args.to_vec();
        args.extend(["--out", o, "--threads", "0"]);
        let run = rxscan(&args);
        assert_eq!(run.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&run.stderr);
        assert_eq!(err, "error: --threads must be at least 1\n", "{args:?}");
        assert!(!out.path().join("o").exists(), "{args:?}");
    }
}

#[test]
fn suppression_redacts_small_counts_and_writes_no_patient_list() {
    let out = tempfile::tempdir().expect("tempdir");
    let run = rxscan(&[
        "scan",
        "--data",
        "testdata/e2e",
        "--index-date",
        "2020-03-01",
        "--out",
        out.path().to_str().expect("utf8"),
        "--suppress",
        "--quiet",
    ]);
    assert!(run.status.success());
    assert!(!out.path().join("patients.csv").exists());
    let summary = std::fs::read_to_string(out.path().join("summary.csv")).expect("summary");
    // Every count in this tiny extract is 7 or fewer, so every count is redacted and no rate shown.
    for line in summary.lines().skip(1) {
        assert!(line.ends_with(",[REDACTED],[REDACTED],"), "{line}");
    }
}

#[test]
fn check_and_rules_list_the_pack() {
    let check = rxscan(&["check", "--rules", "rules/pincer"]);
    assert!(check.status.success());
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("14 measures, 4 composites, 24 codelists")
    );
    let rules = rxscan(&["rules", "--rules", "rules/pincer"]);
    let text = String::from_utf8_lossy(&rules.stdout).to_string();
    for id in pincer::MEASURES {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().next() == Some(id)),
            "{id} missing from:\n{text}"
        );
    }
    let doc = rxscan(&["rule", "k"]);
    let doc = String::from_utf8_lossy(&doc.stdout).to_string();
    for heading in [
        "## What it flags",
        "## Why it matters",
        "## Definition",
        "## References",
    ] {
        assert!(doc.contains(heading), "{doc}");
    }
}

#[test]
fn broken_rules_exit_2_with_every_diagnostic() {
    let run = rxscan(&["check", "--rules", "testdata/rules-broken/three_mistakes"]);
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(err.matches(": error[RX").count(), 3, "{err}");
    assert!(err.contains("3 error(s) in the rules"), "{err}");
}

#[test]
fn param_override_changes_the_rule() {
    // With the eGFR threshold lowered to 30, the k denominator can only shrink.
    let base = tempfile::tempdir().expect("tempdir");
    let low = tempfile::tempdir().expect("tempdir");
    for (dir, extra) in [
        (&base, vec![]),
        (&low, vec!["--param", "egfr_threshold=30"]),
    ] {
        let mut args = vec![
            "scan",
            "--data",
            "testdata/e2e",
            "--index-date",
            "2020-03-01",
            "--out",
            dir.path().to_str().expect("utf8"),
            "--quiet",
        ];
        args.extend(extra);
        assert!(rxscan(&args).status.success());
    }
    let den = |d: &tempfile::TempDir| -> u64 {
        std::fs::read_to_string(d.path().join("summary.csv"))
            .expect("summary")
            .lines()
            .filter(|l| l.split(',').nth(2) == Some("k"))
            .map(|l| {
                l.split(',')
                    .nth(4)
                    .expect("den")
                    .parse::<u64>()
                    .expect("number")
            })
            .sum()
    };
    assert_eq!(
        den(&base),
        3,
        "k denominators in the reviewed e2e summary at 2020-03-01"
    );
    assert!(den(&low) < den(&base));
    let bad = rxscan(&["check", "--param", "egfr_treshold=30"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("did you mean `egfr_threshold`?"));
}

/// The library's messages name no flags; the CLI gives it its flag names (`OptionNames`), so
/// the advice a user reads names the flag to use (the library's own words are tested in
/// `rxscan-core/tests/bad_input.rs`; orphans and `--absent` in the bad-input snapshots and
/// `tests/inputs.rs`).
#[test]
fn library_advice_names_the_flags() {
    let bad = rxscan(&["check", "--param", "egfr_treshold=30"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    let want = "error[RX055]: --param egfr_treshold: this pack has no parameter `egfr_treshold`";
    assert!(err.contains(want), "{err}");
    let out = tempfile::tempdir().expect("tempdir");
    let run = rxscan(&[
        "scan",
        "--data",
        "testdata/mappings/emis-like",
        "--mapping",
        "testdata/mappings-broken/file_not_found/mapping.toml",
        "--index-date",
        "2020-03-01",
        "--out",
        out.path().to_str().expect("utf8"),
    ]);
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("Help: the file is named relative to --data"),
        "{err}"
    );
}

#[test]
fn bad_index_dates_are_errors() {
    let out = tempfile::tempdir().expect("tempdir");
    let o = out.path().to_str().expect("utf8");
    let run = rxscan(&[
        "scan",
        "--data",
        "testdata/e2e",
        "--index-date",
        "2020-02-30",
        "--out",
        o,
    ]);
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("--index-date \"2020-02-30\""));
    let run = rxscan(&[
        "scan",
        "--data",
        "testdata/e2e",
        "--index-date",
        "2020-05-31",
        "--out",
        o,
    ]);
    assert_eq!(run.status.code(), Some(2));
    // Index dates are the 1st of a month (INDICATORS.md §2.1), so month arithmetic never meets
    // a missing day; the library's error for one is tested in rxscan-core's tests/loading.rs.
    assert!(
        String::from_utf8_lossy(&run.stderr)
            .contains("--index-date 2020-05-31: index dates are the 1st of a month"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        std::fs::read_dir(out.path()).expect("dir").count(),
        0,
        "nothing written on error"
    );
}
