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
    assert_eq!(
        names,
        [
            "composites.csv",
            "practices.csv",
            "report.html",
            "run.json",
            "summary.csv"
        ]
    );
}

/// Why a count field breaks the rule, if it does: it must be `[REDACTED]` or a multiple of 5
/// of at least 10.
fn count_problem(field: &str, file: &str) -> Option<String> {
    if field == "[REDACTED]" {
        return None;
    }
    match field.parse::<u64>() {
        Ok(n) if n >= 8 && n % 5 == 0 => None,
        _ => Some(format!("{file}: count {field:?}")),
    }
}

/// Every count in every file of an output folder that breaks the rule. A file of a kind this
/// test does not know how to read is itself a problem: a new output must be checked here.
/// - CSV: every column named `numerator`, `denominator` or `patients`.
/// - HTML: every `<span class="count">`, and, independently of that markup, both sides of
///   every `A / B` in the page's text (how the report shows numerator / denominator).
fn small_counts(dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).expect("read");
        if name.ends_with(".csv") {
            let mut lines = text.lines();
            let header: Vec<&str> = lines.next().expect("header").split(',').collect();
            let counts: Vec<usize> = (0..header.len())
                .filter(|&i| ["numerator", "denominator", "patients"].contains(&header[i]))
                .collect();
            assert!(!counts.is_empty(), "{name}: no count column found");
            for line in lines {
                let f: Vec<&str> = line.split(',').collect();
                problems.extend(counts.iter().filter_map(|&i| count_problem(f[i], &name)));
            }
        } else if name.ends_with(".html") {
            let spans: Vec<&str> = text
                .split("<span class=\"count\">")
                .skip(1)
                .map(|s| s.split('<').next().expect("text"))
                .collect();
            assert!(spans.len() > 100, "{name}: {} count spans", spans.len());
            problems.extend(spans.iter().filter_map(|c| count_problem(c, &name)));
            // The page's text, each tag read as a space (charts dropped: they hold
            // coordinates, not counts).
            let mut visible = String::new();
            for (i, part) in text.split("<svg").enumerate() {
                let part = if i == 0 {
                    part
                } else {
                    part.split_once("</svg>").map_or("", |p| p.1)
                };
                for piece in part.split('<') {
                    visible += " ";
                    visible += piece.split_once('>').map_or(piece, |p| p.1);
                }
            }
            let words: Vec<&str> = visible.split_whitespace().collect();
            let mut pairs = 0;
            for w in words.windows(3).filter(|w| w[1] == "/") {
                pairs += 1;
                problems.extend([w[0], w[2]].iter().filter_map(|c| count_problem(c, &name)));
            }
            assert_eq!(
                pairs,
                spans.len() / 2,
                "{name}: every count pair found in the text"
            );
        } else if name == "run.json" {
            // Each input file's row counts, and any count a warning starts with.
            let run: serde_json::Value = serde_json::from_str(&text).expect("run.json");
            let inputs = run["inputs"].as_array().expect("inputs");
            assert!(!inputs.is_empty(), "run.json lists no input");
            for input in inputs {
                for key in ["rows_read", "rows_kept"] {
                    let field = match &input[key] {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    problems.extend(count_problem(&field, &name));
                }
            }
            for w in run["warnings"].as_array().expect("warnings") {
                let first = w.as_str().expect("text").split(' ').next().unwrap_or("");
                if first.starts_with(|c: char| c.is_ascii_digit()) || first == "[REDACTED]" {
                    problems.extend(count_problem(first, &name));
                }
            }
        } else {
            problems.push(format!("{name}: an output this test cannot read"));
        }
    }
    problems
}

#[test]
fn no_count_from_1_to_7_in_any_output_file_under_suppress() {
    let dir = tempfile::tempdir().expect("tempdir");
    scan_demo(dir.path(), &["--suppress", "--quiet"]);
    let problems = small_counts(dir.path());
    assert!(problems.is_empty(), "{problems:#?}");

    // The same check on the unsuppressed files finds small counts in each aggregate file,
    // so it would find one that leaked.
    let exact = tempfile::tempdir().expect("tempdir");
    scan_demo(exact.path(), &["--quiet", "--no-patients"]);
    let problems = small_counts(exact.path());
    for file in [
        "summary.csv",
        "composites.csv",
        "practices.csv",
        "report.html",
        "run.json",
    ] {
        assert!(
            problems.iter().any(|p| p.starts_with(file)),
            "the check finds no small count in the exact {file}"
        );
    }
}

/// The Wilson 95% interval of k/n, in percent: this file's own arithmetic.
fn wilson(k: f64, n: f64) -> (f64, f64) {
    let z = 1.959964f64;
    let p = k / n;
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    (
        100.0 * (centre - half).max(0.0),
        100.0 * (centre + half).min(1.0),
    )
}

#[test]
fn suppressed_intervals_and_funnel_positions_come_from_the_shown_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    scan_demo(dir.path(), &["--suppress", "--quiet"]);
    let text = std::fs::read_to_string(dir.path().join("practices.csv")).expect("practices");
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    // The total's shown counts for each date and measure.
    let total = |date: &str, measure: &str| -> Option<(f64, f64)> {
        let t = rows
            .iter()
            .find(|r| r[0] == date && r[1] == "total" && r[3] == measure)
            .expect("a total row");
        Some((t[4].parse().ok()?, t[5].parse().ok()?))
    };
    let near =
        |field: &str, want: f64| (field.parse::<f64>().expect("number") - want).abs() <= 0.006;
    let (mut intervals, mut positions) = (0, 0);
    for r in &rows {
        let shown = (r[4].parse::<f64>(), r[5].parse::<f64>());
        let (Ok(n), Ok(d)) = shown else {
            assert_eq!(
                r[7..9],
                ["", ""],
                "an interval beside a redacted count: {r:?}"
            );
            assert_eq!(
                r[14], "",
                "a funnel position beside a redacted count: {r:?}"
            );
            continue;
        };
        if d == 0.0 {
            continue;
        }
        let (low, high) = wilson(n, d);
        assert!(
            near(r[7], low) && near(r[8], high),
            "Wilson of the shown counts: {r:?}"
        );
        intervals += 1;
        if r[1] == "total" {
            continue;
        }
        let Some((tn, td)) = total(r[0], r[3]) else {
            assert_eq!(r[14], "", "a position without a shown total: {r:?}");
            continue;
        };
        let p0 = tn / td;
        let se = (p0 * (1.0 - p0) / d).sqrt();
        let (p, z95, z998) = (n / d, 1.959964 * se, 3.090232 * se);
        let want = if p > p0 + z998 {
            "above_99.8"
        } else if p > p0 + z95 {
            "above_95"
        } else if p < p0 - z998 {
            "below_99.8"
        } else if p < p0 - z95 {
            "below_95"
        } else {
            "inside"
        };
        assert!(
            near(r[9], 100.0 * p0),
            "total rate of the shown total: {r:?}"
        );
        assert_eq!(r[14], want, "funnel position from the shown counts: {r:?}");
        positions += 1;
    }
    assert!(
        intervals > 100 && positions > 50,
        "{intervals} intervals, {positions} positions"
    );
}
