//! What a new user meets first (issue "Nothing leaks", part 3): the built-in pack from any
//! folder, one rule for index dates, errors that name the flag, a missing `)` reported once at
//! the `(`, and a monthly trend in the terminal summary.

use std::path::PathBuf;
use std::process::{Command, Output};

// Where the pack's codelists are, shared with rxscan-core's tests (plain constants, no
// dependencies).
#[path = "../../rxscan-core/tests/common/pincer.rs"]
mod pincer;

/// The shipped codelist file of `name`.
fn shipped_codelist(name: &str) -> PathBuf {
    repo()
        .join(pincer::CODELISTS_DIR)
        .join(pincer::codelist_file(name))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo")
}

/// Run rxscan in `cwd`.
fn rxscan_in(cwd: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rxscan"))
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("run rxscan")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn the_built_in_pack_scans_from_any_folder() {
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let data = repo().join("testdata/e2e");
    let run = rxscan_in(
        elsewhere.path(),
        &[
            "scan",
            "--data",
            data.to_str().expect("utf8"),
            "--index-date",
            "2020-03-01",
            "--index-date",
            "2020-04-01",
            "--out",
            "out",
            "--quiet",
        ],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    for file in ["summary.csv", "patients.csv", "composites.csv"] {
        let got = std::fs::read_to_string(elsewhere.path().join("out").join(file)).expect("out");
        let want =
            std::fs::read_to_string(repo().join("testdata/e2e/expected").join(file)).expect("exp");
        assert_eq!(got, want, "{file}");
    }
}

#[test]
fn rules_says_which_pack_is_in_use() {
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let built_in = rxscan_in(elsewhere.path(), &["rules"]);
    assert!(built_in.status.success(), "{}", stderr(&built_in));
    let text = String::from_utf8_lossy(&built_in.stdout);
    assert!(
        text.lines()
            .next()
            .is_some_and(|l| l.starts_with("pack: the PINCER pack built into rxscan")),
        "{text}"
    );
    assert!(text.lines().any(|l| l.starts_with("me_no_fbc ")), "{text}");

    let on_disk = rxscan_in(&repo(), &["rules", "--rules", "rules/pincer"]);
    let text = String::from_utf8_lossy(&on_disk.stdout);
    assert_eq!(text.lines().next(), Some("pack: rules/pincer"), "{text}");

    let doc = rxscan_in(elsewhere.path(), &["rule", "a"]);
    let doc = String::from_utf8_lossy(&doc.stdout);
    assert!(
        doc.contains("Defined in <built-in>/pincer/measures/01-a.rx"),
        "{doc}"
    );
}

#[test]
fn synth_uses_the_built_in_codelists_from_any_folder() {
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let run = rxscan_in(
        elsewhere.path(),
        &[
            "synth",
            "--patients",
            "200",
            "--practices",
            "2",
            "--out",
            "x",
        ],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let meds = std::fs::read_to_string(elsewhere.path().join("x/medications.csv")).expect("meds");
    // Real codes from the built-in NSAID codelist reach the extract.
    let nsaid = std::fs::read_to_string(shipped_codelist("nsaid")).expect("codelist");
    let codes: Vec<&str> = nsaid
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    assert!(
        meds.lines()
            .any(|l| l.split(',').nth(2).is_some_and(|c| codes.contains(&c))),
        "no NSAID issue among {} medication rows",
        meds.lines().count()
    );
}

#[test]
fn every_index_date_flag_takes_the_first_of_a_month() {
    let cwd = repo();
    let out = tempfile::tempdir().expect("tempdir");
    let o = out.path().to_str().expect("utf8");
    for args in [
        vec!["--index-date", "2020-03-15"],
        vec!["--from", "2019-10-15", "--to", "2020-03-01"],
        vec!["--from", "2019-10-01", "--to", "2020-03-31"],
    ] {
        let mut full = vec!["scan", "--data", "testdata/e2e", "--out", o];
        full.extend(&args);
        let run = rxscan_in(&cwd, &full);
        assert_eq!(run.status.code(), Some(2), "{args:?}");
        let err = stderr(&run);
        assert!(
            err.contains("index dates are the 1st of a month"),
            "{args:?}: {err}"
        );
        assert!(
            err.contains(args[args.len() - 2]) || err.contains(args[0]),
            "{err}"
        );
    }
    let help = rxscan_in(&cwd, &["scan", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(help.matches("the 1st of a month").count(), 3, "{help}");
    assert_eq!(std::fs::read_dir(out.path()).expect("dir").count(), 0);
}

#[test]
fn errors_name_the_flag_the_user_gave() {
    let cwd = repo();
    let out = tempfile::tempdir().expect("tempdir");
    let o = out.path().to_str().expect("utf8");
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "scan",
                "--data",
                "nope",
                "--index-date",
                "2020-03-01",
                "--out",
                o,
            ],
            "error: --data nope: no such folder",
        ),
        (
            &[
                "scan",
                "--data",
                "README.md",
                "--index-date",
                "2020-03-01",
                "--out",
                o,
            ],
            "error: --data README.md: not a folder",
        ),
        (
            &["check", "--rules", "nope"],
            "error: --rules nope: no such folder",
        ),
        (
            &["synth", "--codelists", "nope", "--out", o],
            "error: --codelists nope: no such folder",
        ),
    ];
    for (args, want) in cases {
        let run = rxscan_in(&cwd, args);
        assert_eq!(run.status.code(), Some(2), "{args:?}");
        assert_eq!(stderr(&run).trim_end(), want, "{args:?}");
    }
    let empty = tempfile::tempdir().expect("tempdir");
    let run = rxscan_in(
        &cwd,
        &["check", "--rules", empty.path().to_str().expect("utf8")],
    );
    assert!(
        stderr(&run).contains("no rule files (*.rx) in this folder"),
        "{}",
        stderr(&run)
    );
}

#[test]
fn a_missing_paren_is_reported_once_at_the_paren_it_fails_to_close() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Line 2's `has(` is never closed; `nsaid_3m` is used by the definitions after it.
    let text = "codelist nsaid = dmd(\"codelists/pincer-nsaid.csv\")\n\
                define nsaid_3m = medications.has(nsaid, [index - 3 months, index]\n\
                define older = age >= 65 and nsaid_3m\n\
                population = registered and nsaid_3m\n\
                measure x {\n  primis = \"X\"\n  title = \"x\"\n  denominator = older\n  numerator = nsaid_3m\n\
                  doc = \"\"\"## What it flags\nx\n## Why it matters\nx\n## Definition\nx\n## References\nx\"\"\"\n}\n";
    std::fs::write(dir.path().join("pack.rx"), text).expect("write");
    std::fs::create_dir(dir.path().join("codelists")).expect("mkdir");
    std::fs::copy(
        shipped_codelist("nsaid"),
        dir.path().join("codelists/pincer-nsaid.csv"),
    )
    .expect("copy");
    let run = rxscan_in(
        &repo(),
        &["check", "--rules", dir.path().to_str().expect("utf8")],
    );
    assert_eq!(run.status.code(), Some(2));
    let err = stderr(&run);
    assert_eq!(err.matches(": error[RX").count(), 1, "{err}");
    // Line 2, column 34 is the `(` after `has`.
    assert!(
        err.contains("pack.rx:2:34: error[RX007]: unclosed `(`"),
        "{err}"
    );
    assert!(err.contains("this `(` is not closed"), "{err}");
    assert!(!err.contains("unknown name"), "{err}");
}

#[test]
fn a_monthly_series_prints_a_trend_per_measure() {
    let out = tempfile::tempdir().expect("tempdir");
    let run = rxscan_in(
        &repo(),
        &[
            "scan",
            "--data",
            "testdata/demo",
            "--from",
            "2019-09-01",
            "--to",
            "2020-03-01",
            "--out",
            out.path().to_str().expect("utf8"),
        ],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(text.contains("rate% monthly from 2019-09-01"), "{text}");
    // Measure a's row ends with seven bars (one per month) and its first and last rates.
    let a = text
        .lines()
        .find(|l| l.trim_start().starts_with("a "))
        .expect("row a");
    let bars = a.chars().filter(|c| "▁▂▃▄▅▆▇█·".contains(*c)).count();
    assert_eq!(bars, 7, "{a}");
    assert!(a.contains(" -> "), "{a}");
}

/// Diagnostics are in colour on a terminal and plain otherwise (a pipe, as in every other
/// test here, or `NO_COLOR`). `script` gives the command a pseudo-terminal.
#[cfg(unix)]
#[test]
fn diagnostics_are_coloured_on_a_terminal_only() {
    let bin = env!("CARGO_BIN_EXE_rxscan");
    let broken = repo().join("testdata/rules-broken/unknown_name");
    let cmd = format!("{bin} check --rules {}", broken.display());
    let on_terminal = |no_color: bool| {
        let mut c = Command::new("script");
        c.args(["-qec", &cmd, "/dev/null"])
            .env_remove("NO_COLOR")
            .stdin(std::process::Stdio::null());
        if no_color {
            c.env("NO_COLOR", "1");
        }
        let out = c.output().expect("run script");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let coloured = on_terminal(false);
    assert!(coloured.contains("unknown name"), "{coloured}");
    assert!(
        coloured.contains("\u{1b}["),
        "no colour on a terminal: {coloured:?}"
    );
    assert!(
        !on_terminal(true).contains("\u{1b}["),
        "NO_COLOR is respected"
    );
    let piped = rxscan_in(
        &repo(),
        &["check", "--rules", broken.to_str().expect("utf8")],
    );
    assert!(!stderr(&piped).contains("\u{1b}["), "no colour into a pipe");
}

/// The README's table of commands is the list `rxscan --help` prints: every command, in the
/// same order, and no other.
#[test]
fn the_readme_lists_every_command_in_the_order_help_does() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README");
    let table = readme
        .split("## Commands\n")
        .nth(1)
        .expect("a Commands section");
    let documented: Vec<&str> = table
        .lines()
        .skip_while(|l| !l.starts_with("| `rxscan "))
        .take_while(|l| l.starts_with("| `rxscan "))
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    let help = rxscan_in(&repo(), &["--help"]);
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    let listed: Vec<&str> = help
        .lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert_eq!(listed.len(), 9, "{help}");
    assert_eq!(documented, listed);
}
