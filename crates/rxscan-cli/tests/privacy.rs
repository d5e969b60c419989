//! `--suppress` is the mode meant for sharing: nothing it writes or prints may let anyone
//! recover a count of 7 or fewer, directly or from a rate (issue "Nothing leaks").
//!
//! The oracle here is the rule itself, applied by this file's own arithmetic: a shown count is
//! `[REDACTED]` or a multiple of 5 of at least 10; a shown rate is 100 × shown numerator /
//! shown denominator to 2 decimals, half up, and absent when either count is redacted.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rxscan(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_rxscan"))
        .current_dir(repo())
        .args(args)
        .output()
        .expect("run rxscan");
    assert!(
        out.status.success(),
        "rxscan {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A synthetic extract (20,000 patients in 4 practices, rare conditions enriched so that
/// many counts are large enough to show), made once per test process.
fn extract() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        rxscan(&[
            "synth",
            "--patients",
            "20000",
            "--practices",
            "4",
            "--enrich",
            "4",
            "--seed",
            "9",
            "--out",
            dir.path().to_str().expect("utf8"),
        ]);
        dir
    })
    .path()
}

/// Scan the extract over six monthly index dates, into `out`.
fn scan_demo(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "scan",
        "--data",
        extract().to_str().expect("utf8"),
        "--from",
        "2019-10-01",
        "--to",
        "2020-03-01",
        "--out",
        out.to_str().expect("utf8"),
    ];
    args.extend_from_slice(extra);
    rxscan(&args)
}

/// A count field as shown: `None` for `[REDACTED]`. Fails on anything the rule forbids.
fn shown_count(field: &str, line: &str) -> Option<u64> {
    if field == "[REDACTED]" {
        return None;
    }
    let n: u64 = field
        .parse()
        .unwrap_or_else(|_| panic!("count {field:?} in {line}"));
    assert!(n >= 8, "a count of 7 or fewer is shown: {field} in {line}");
    assert_eq!(n % 5, 0, "a count not rounded to 5: {field} in {line}");
    Some(n)
}

/// 100 × n / d to 2 decimals, rounded half up, computed here independently of the engine.
fn rate(n: u64, d: u64) -> String {
    // Hundredths of a percent with two more digits, truncated: those two digits alone say
    // whether the fraction is at least one half.
    let scaled = n as u128 * 1_000_000 / d as u128;
    let mut hundredths = scaled / 100;
    if scaled % 100 >= 50 {
        hundredths += 1;
    }
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

#[test]
fn the_independent_rate_rounds_half_up() {
    assert_eq!(rate(1, 8), "12.50");
    assert_eq!(rate(1, 32), "3.13");
    assert_eq!(rate(2, 3), "66.67");
    assert_eq!(rate(1, 3), "33.33");
    assert_eq!(rate(11, 161), "6.83");
    assert_eq!(rate(10, 160), "6.25");
}

#[test]
fn suppressed_outputs_show_no_small_count_and_rates_of_the_shown_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = scan_demo(dir.path(), &["--suppress"]);

    let summary = std::fs::read_to_string(dir.path().join("summary.csv")).expect("summary");
    let (mut rated, mut redacted) = (0, 0);
    for line in summary.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 6, "{line}");
        let (n, d) = (shown_count(f[3], line), shown_count(f[4], line));
        match (n, d) {
            (Some(n), Some(d)) => {
                assert_eq!(
                    f[5],
                    rate(n, d),
                    "rate is not that of the shown counts: {line}"
                );
                rated += 1;
            }
            _ => {
                assert_eq!(f[5], "", "a rate beside a redacted count: {line}");
                redacted += 1;
            }
        }
    }
    assert!(
        rated > 100 && redacted > 20,
        "{rated} rated, {redacted} redacted rows"
    );

    let composites =
        std::fs::read_to_string(dir.path().join("composites.csv")).expect("composites");
    let mut shown = 0;
    for line in composites.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 6, "{line}");
        shown += shown_count(f[3], line).is_some() as usize;
        shown_count(f[5], line);
    }
    assert!(
        shown > 0,
        "some composite denominators are large enough to show"
    );

    // The terminal summary follows the same rule.
    let stdout = String::from_utf8_lossy(&run.stdout);
    let mut rows = 0;
    let table = stdout
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("measure"))
        .skip(1)
        .take_while(|l| l.starts_with("  "));
    for line in table {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (n, d) = (shown_count(f[2], line), shown_count(f[3], line));
        if let (Some(n), Some(d)) = (n, d) {
            assert_eq!(f[4], rate(n, d), "terminal rate: {line}");
        }
        rows += 1;
    }
    assert_eq!(rows, 14, "one terminal row per measure:\n{stdout}");
    assert!(stdout.contains("suppressed"), "{stdout}");
}

/// Every (numerator, denominator) consistent with a shown row: each rounds to the shown
/// count and is above 7, and, for an attacker who assumes the rate came from the exact
/// counts, its rate equals the shown one. The attack of the issue: a single candidate.
fn candidates(n: u64, d: u64, shown_rate: &str, rate_from_exact: bool) -> Vec<(u64, u64)> {
    let mut found = Vec::new();
    for num in n.saturating_sub(2)..=n + 2 {
        for den in d.saturating_sub(2)..=d + 2 {
            if num < 8 || den < 8 || num > den {
                continue;
            }
            if rate_from_exact && rate(num, den) != shown_rate {
                continue;
            }
            found.push((num, den));
        }
    }
    found
}

#[test]
fn exact_counts_cannot_be_recovered_from_suppressed_rates() {
    let dir = tempfile::tempdir().expect("tempdir");
    scan_demo(dir.path(), &["--suppress", "--quiet"]);
    let exact = tempfile::tempdir().expect("tempdir");
    scan_demo(exact.path(), &["--quiet", "--no-patients"]);

    let rows = |p: &Path| -> Vec<Vec<String>> {
        std::fs::read_to_string(p.join("summary.csv"))
            .expect("summary")
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect()
    };
    let (suppressed, exact) = (rows(dir.path()), rows(exact.path()));
    assert_eq!(suppressed.len(), exact.len());

    let (mut attacked, mut recovered_before, mut recovered_now) = (0, 0, 0);
    for (s, e) in suppressed.iter().zip(&exact) {
        assert_eq!(s[..3], e[..3], "the same row of both files");
        let (Ok(n), Ok(d)) = (s[3].parse::<u64>(), s[4].parse::<u64>()) else {
            continue;
        };
        attacked += 1;
        let truth: (u64, u64) = (e[3].parse().expect("n"), e[4].parse().expect("d"));
        // The attack on a file whose rate came from the exact counts (before the fix).
        if candidates(n, d, &rate(truth.0, truth.1), true) == [truth] {
            recovered_before += 1;
        }
        // On the suppressed file the rate is that of the shown counts (the documented rule),
        // so it rules out no candidate: every pair that rounds to the shown counts stays.
        let found = candidates(n, d, &s[5], false);
        assert_eq!(s[5], rate(n, d), "{s:?}");
        if found.len() <= 1 {
            recovered_now += 1;
        }
        assert!(
            found.contains(&truth),
            "{s:?}: {truth:?} must round to the shown counts"
        );
    }
    assert!(attacked > 100, "{attacked} rows to attack");
    assert!(
        recovered_before > attacked / 10,
        "the attack works on rates from exact counts ({recovered_before} of {attacked}), else this test proves nothing"
    );
    assert_eq!(
        recovered_now, 0,
        "exact counts recovered from {recovered_now} of {attacked} suppressed rows"
    );
}

#[test]
fn a_suppressed_run_removes_an_earlier_patient_list() {
    let dir = tempfile::tempdir().expect("tempdir");
    scan_demo(dir.path(), &["--quiet"]);
    assert!(dir.path().join("patients.csv").exists());
    scan_demo(dir.path(), &["--quiet", "--suppress"]);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["composites.csv", "run.json", "summary.csv"]);
}
