//! Bad input never panics (issue 4). An input either loads correctly, where its meaning is
//! clear (a UTF-8 BOM, CRLF line endings, quoted fields with newlines), or fails with exit
//! code 2 and one message on stderr naming the file, the line (the header is line 1) and
//! column, the value and what was expected; and the output folder gains nothing.
//!
//! The cases are data: each folder `testdata/bad_input/<case>/` holds the broken table files
//! that replace those of the valid extract `testdata/e2e` (a table absent from the folder is
//! copied from `testdata/e2e`) and a `case.toml`:
//!
//! ```toml
//! # why this case exists
//! args = ["--skip-orphans"]          # optional: extra `scan` arguments
//! remove = ["clinical_events.csv"]   # optional: tables deleted from the copy
//! data = "patients.csv"              # optional: `--data` names this path in the copy, not the folder
//! outcome = "error"                  # or "loads"
//! expect_same_output_as_e2e = true   # optional, loads only: the outputs are testdata/e2e/expected
//! expect_all_numerators_zero = true  # optional, loads only: every numerator in summary.csv is 0
//! ```
//!
//! A case folder may instead hold a rule pack, `rules/`: then `rxscan check` on it and `scan`
//! of the e2e extract with it must report the same.
//!
//! `every_case` builds each case's extract in a temporary folder, runs `rxscan scan` on it and
//! snapshots stderr (the folder's path replaced by `<extract>`) in
//! `snapshots/bad_input__<case>.snap`. To add a case, add a folder and run
//! `INSTA_UPDATE=always cargo test -p rxscan-cli --test bad_input`, then read the new snapshot.
//!
//! The tests after it stay in Rust because their breakage cannot be a checked-in file; each
//! says why. The `regression_*` cases are named after what they found.

use std::panic::{catch_unwind, AssertUnwindSafe};
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
/// The outputs of a scan, compared with `testdata/e2e/expected`.
const OUTPUTS: [&str; 3] = ["summary.csv", "patients.csv", "composites.csv"];

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

/// A copy of the four tables of `testdata/e2e`.
fn copy_e2e() -> TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for t in TABLES {
        std::fs::copy(
            repo().join(format!("testdata/e2e/{t}.csv")),
            dir.path().join(format!("{t}.csv")),
        )
        .expect("copy table");
    }
    dir
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

/// Exit code 2, no panic, nothing new in the output folder. Returns stderr.
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
fn fails(data: &Path) -> String {
    let out = OutDir::new();
    let run = scan_with(data, "rules/pincer", &out, &[]);
    let stderr = assert_fails(&run, &out);
    assert_eq!(stderr.lines().count(), 1, "one message:\n{stderr}");
    stderr
}

// ---------------------------------------------------------------------------------------------
// The cases in testdata/bad_input.

const CASES: &str = "testdata/bad_input";

#[derive(Debug, PartialEq)]
enum Outcome {
    Error,
    Loads,
}

/// One folder of `testdata/bad_input`, as its `case.toml` describes it.
#[derive(Debug)]
struct Case {
    name: String,
    dir: PathBuf,
    args: Vec<String>,
    remove: Vec<String>,
    data: Option<String>,
    outcome: Outcome,
    expect_same_output_as_e2e: bool,
    expect_all_numerators_zero: bool,
    /// The case's rule pack, `rules/`, as a path from the repository root.
    rules: Option<String>,
}

fn strings(item: &toml_edit::Item, key: &str) -> Result<Vec<String>, String> {
    let array = item
        .as_array()
        .ok_or_else(|| format!("`{key}` must be an array of strings"))?;
    array
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("`{key}` must be an array of strings"))
        })
        .collect()
}

fn boolean(item: &toml_edit::Item, key: &str) -> Result<bool, String> {
    item.as_bool()
        .ok_or_else(|| format!("`{key}` must be true or false"))
}

/// Reads `<dir>/case.toml` and checks the folder holds nothing else than table files and
/// `rules/`, so that a misspelt file name is an error rather than a case testing nothing.
fn read_case(root: &Path, name: &str) -> Result<Case, String> {
    let dir = root.join(name);
    let toml_path = dir.join("case.toml");
    let text = std::fs::read_to_string(&toml_path)
        .map_err(|e| format!("no readable case.toml ({}): {e}", toml_path.display()))?;
    let doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| format!("case.toml is not valid TOML: {e}"))?;
    let mut case = Case {
        name: name.to_string(),
        dir: dir.clone(),
        args: Vec::new(),
        remove: Vec::new(),
        data: None,
        outcome: Outcome::Error,
        expect_same_output_as_e2e: false,
        expect_all_numerators_zero: false,
        rules: None,
    };
    let mut outcome = None;
    for (key, item) in doc.iter() {
        match key {
            "args" => case.args = strings(item, key)?,
            "remove" => case.remove = strings(item, key)?,
            "data" => case.data = Some(item.as_str().ok_or("`data` must be a string")?.to_string()),
            "outcome" => {
                outcome = Some(match item.as_str() {
                    Some("error") => Outcome::Error,
                    Some("loads") => Outcome::Loads,
                    _ => return Err("`outcome` must be \"error\" or \"loads\"".into()),
                })
            }
            "expect_same_output_as_e2e" => case.expect_same_output_as_e2e = boolean(item, key)?,
            "expect_all_numerators_zero" => case.expect_all_numerators_zero = boolean(item, key)?,
            _ => return Err(format!("case.toml: unknown key `{key}`")),
        }
    }
    case.outcome = outcome.ok_or("case.toml: no `outcome` (\"error\" or \"loads\")")?;
    if case.outcome == Outcome::Error
        && (case.expect_same_output_as_e2e || case.expect_all_numerators_zero)
    {
        return Err("expect_* keys are for cases whose outcome is \"loads\"".into());
    }
    let tables: Vec<String> = TABLES
        .iter()
        .flat_map(|t| [format!("{t}.csv"), format!("{t}.parquet")])
        .collect();
    for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let file = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().map_err(|e| e.to_string())?.is_dir();
        if is_dir && file == "rules" {
            case.rules = Some(format!("{CASES}/{name}/rules"));
        } else if is_dir || (file != "case.toml" && !tables.contains(&file)) {
            return Err(format!(
                "unexpected `{file}`: a case folder holds case.toml, table files ({}) and rules/",
                tables.join(", ")
            ));
        }
    }
    for r in &case.remove {
        if !tables.contains(r) {
            return Err(format!("remove: `{r}` is not a table file"));
        }
        if dir.join(r).exists() {
            return Err(format!("remove: `{r}` is also in the case folder"));
        }
    }
    Ok(case)
}

/// The case's extract: `testdata/e2e` with the case's files in place of the originals and the
/// tables in `remove` deleted.
fn build_extract(case: &Case) -> TempDir {
    let extract = copy_e2e();
    for entry in std::fs::read_dir(&case.dir).expect("read case") {
        let entry = entry.expect("entry");
        let file = entry.file_name();
        if file != "case.toml" && entry.file_type().expect("type").is_file() {
            std::fs::copy(entry.path(), extract.path().join(&file)).expect("copy case file");
        }
    }
    for r in &case.remove {
        std::fs::remove_file(extract.path().join(r)).expect("remove table");
    }
    extract
}

/// Builds the case's extract, runs `rxscan scan` on it, checks the outcome and snapshots
/// stderr. Panics on the first thing that differs.
fn run_case(case: &Case) {
    let extract = build_extract(case);
    let data = match &case.data {
        Some(path) => extract.path().join(path),
        None => extract.path().to_path_buf(),
    };
    let rules = case.rules.as_deref().unwrap_or("rules/pincer");
    let out = OutDir::new();
    let extra: Vec<&str> = case.args.iter().map(String::as_str).collect();
    let run = scan_with(&data, rules, &out, &extra);
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    // (Not the case's own path: a regression case may be named after a panic.)
    let own_path = format!("{CASES}/{}", case.name);
    assert!(
        !stderr.replace(&own_path, "").contains("panicked"),
        "panic:\n{stderr}"
    );
    assert!(
        stderr.is_empty() || stderr.ends_with('\n'),
        "stderr ends in a newline:\n{stderr}"
    );
    match case.outcome {
        Outcome::Error => {
            assert_eq!(run.status.code(), Some(2), "exit code; stderr:\n{stderr}");
            assert_eq!(
                out.listing(),
                ["earlier.txt"],
                "the output folder must gain nothing on error; stderr:\n{stderr}"
            );
            match case.rules {
                // Rule errors show the source line: `check` must say the same as `scan`.
                Some(_) => {
                    let check = rxscan(&["check", "--rules", rules]);
                    assert_eq!(check.status.code(), Some(2), "check's exit code");
                    let check_err = String::from_utf8_lossy(&check.stderr);
                    assert_eq!(check_err, stderr, "check and scan report the same");
                }
                None => assert_eq!(stderr.lines().count(), 1, "one message:\n{stderr}"),
            }
        }
        Outcome::Loads => {
            assert!(run.status.success(), "must load; stderr:\n{stderr}");
            if case.rules.is_some() {
                let check = rxscan(&["check", "--rules", rules]);
                assert!(check.status.success(), "check must pass too");
            }
            // The scan's outputs (with the evidence of issue #11) beside the earlier file.
            assert_eq!(
                out.listing(),
                [
                    "action_lists",
                    "composites.csv",
                    "earlier.txt",
                    "evidence.jsonl",
                    "patients.csv",
                    "practices.csv",
                    "report.html",
                    "run.json",
                    "summary.csv"
                ]
            );
            if case.expect_same_output_as_e2e {
                for file in OUTPUTS {
                    let got = std::fs::read_to_string(out.dir.path().join(file)).expect("output");
                    let want =
                        std::fs::read_to_string(repo().join("testdata/e2e/expected").join(file))
                            .expect("expected");
                    assert_eq!(got, want, "{file} differs from the reviewed output");
                }
            }
            if case.expect_all_numerators_zero {
                let summary =
                    std::fs::read_to_string(out.dir.path().join("summary.csv")).expect("summary");
                let header: Vec<&str> =
                    summary.lines().next().expect("header").split(',').collect();
                let col = header
                    .iter()
                    .position(|c| *c == "numerator")
                    .expect("a numerator column");
                assert!(
                    summary
                        .lines()
                        .skip(1)
                        .all(|l| l.split(',').nth(col) == Some("0")),
                    "every numerator is 0:\n{summary}"
                );
            }
        }
    }
    let shown = stderr.replace(&extract.path().display().to_string(), "<extract>");
    let mut settings = insta::Settings::clone_current();
    settings.set_description(format!("stderr of the case {CASES}/{}", case.name));
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(case.name.as_str(), shown));
}

/// Runs every case folder under `root`; returns how many there were and one line per failure.
fn run_cases(root: &Path) -> (usize, Vec<String>) {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .expect("read the cases folder")
        .map(|e| e.expect("entry"))
        .filter(|e| e.file_type().expect("type").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut failures = Vec::new();
    for name in &names {
        let result = read_case(root, name).and_then(|case| {
            catch_unwind(AssertUnwindSafe(|| run_case(&case))).map_err(|panic| {
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panicked".into())
            })
        });
        if let Err(e) = result {
            failures.push(format!("{name}: {e}"));
        }
    }
    (names.len(), failures)
}

#[test]
fn every_case() {
    let (n, mut failures) = run_cases(&repo().join(CASES));
    assert!(n > 0, "no cases in {CASES}");
    // A snapshot without its case folder (a case renamed or removed) is stale.
    let snapshots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    for entry in std::fs::read_dir(snapshots).expect("read snapshots") {
        let file = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if let Some(case) = file
            .strip_prefix("bad_input__")
            .and_then(|f| f.strip_suffix(".snap"))
        {
            if !repo().join(CASES).join(case).is_dir() {
                failures.push(format!("{case}: snapshot {file} has no case folder"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} bad-input cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The driver must not pass over a folder that is not a case.
#[test]
fn a_case_folder_without_case_toml_fails() {
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(root.path().join("forgotten")).expect("mkdir");
    std::fs::write(root.path().join("forgotten/medications.csv"), "").expect("write");
    let (n, failures) = run_cases(root.path());
    assert_eq!(n, 1);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].starts_with("forgotten: no readable case.toml"),
        "{failures:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Cases that cannot be checked-in files.

/// Git keeps no directories as such (let alone one named `medications.csv`): made at run time.
#[test]
fn directory_where_a_file_should_be() {
    let ex = copy_e2e();
    let file = ex.path().join("medications.csv");
    std::fs::remove_file(&file).expect("rm");
    std::fs::create_dir(&file).expect("mkdir");
    let err = fails(ex.path());
    assert_eq!(
        err,
        format!(
            "error: {}: cannot read: is a directory, expected a file\n",
            file.display()
        )
    );
}

/// Git keeps no file permissions beyond the executable bit: mode 000 is set at run time.
#[test]
fn unreadable_file() {
    use std::os::unix::fs::PermissionsExt;
    let ex = copy_e2e();
    let file = ex.path().join("medications.csv");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    if std::fs::File::open(&file).is_ok() {
        // Root (as in CI containers) reads a mode-000 file anyway: nothing to test here.
        eprintln!(
            "unreadable_file: skipped, this process can read a mode-000 file (running as root)"
        );
        return;
    }
    let err = fails(ex.path());
    assert_eq!(
        err,
        format!(
            "error: {}: cannot read: Permission denied (os error 13)\n",
            file.display()
        )
    );
}

/// About the output folder, not the input: `--out` names a folder that does not exist yet
/// (the cases' output folder always exists). The input is the case `date_that_does_not_exist`;
/// the rules are the built-in pack (no `--rules`).
#[test]
fn failed_scan_does_not_create_the_output_folder() {
    let case = read_case(&repo().join(CASES), "date_that_does_not_exist").expect("case");
    let ex = build_extract(&case);
    let parent = tempfile::tempdir().expect("tempdir");
    let out = parent.path().join("not-yet");
    let data = ex.path().to_str().expect("utf8");
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

/// Generated: 10,000 nested parentheses (and a 10,000-operand chain) on one line are clearer
/// as code than as a 20 kB and a 90 kB checked-in line, and the message echoes that line, so
/// it is checked with `contains` rather than snapshotted.
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
            "{}:1:79: error[RX043]: expression nested more than 64 levels deep",
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

/// Generated: a 40 MB codelist of a million codes is not for the repository; and the test
/// times `check`.
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

// ---------------------------------------------------------------------------------------------
// Regressions that cannot be checked-in files (the others are case folders of the same name).

/// Writing to a full standard output panicked (`println!`) instead of failing with exit 2.
/// Stdout is `/dev/full`, not an input file.
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
/// Stdout is a pipe closed at run time, not an input file.
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
