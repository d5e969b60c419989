//! A stopped run leaves no patient rows where they could be shared (issue "Nothing leaks").
//!
//! A real `rxscan scan` is caught in its write step: the test hook `RXSCAN_TEST_HOLD_WRITE`
//! makes it pause once its first file is staged (and say so by creating a marker file), and
//! the test then sends a real signal. The output folder must hold the previous complete set
//! of files, byte for byte, or nothing new; and no staging folder may be left beside it,
//! except after `kill -9`, which the next run cleans up.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scan_command(out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rxscan"));
    c.current_dir(repo())
        .args([
            "scan",
            "--data",
            "testdata/e2e",
            "--index-date",
            "2020-03-01",
        ])
        .args(["--out", out.to_str().expect("utf8"), "--quiet"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// Every file under a folder (relative path → bytes).
fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).expect("under root");
                out.insert(rel.display().to_string(), std::fs::read(&p).expect("read"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Names in the parent folder other than the output folder itself (staging left behind).
fn beside(out: &Path) -> Vec<String> {
    let parent = out.parent().expect("parent");
    let name = out.file_name().expect("name");
    std::fs::read_dir(parent)
        .expect("read parent")
        .map(|e| e.expect("entry").file_name())
        .filter(|n| n != name)
        .map(|n| n.to_string_lossy().to_string())
        .collect()
}

/// Start a scan that pauses in its write step; return once it is paused there.
fn start_held(out: &Path, marker: &Path, extra: &[&str]) -> Child {
    let mut child = scan_command(out, extra)
        .env("RXSCAN_TEST_HOLD_WRITE", marker)
        .spawn()
        .expect("start rxscan");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !marker.exists() {
        if let Some(status) = child.try_wait().expect("poll") {
            panic!("rxscan ended before its write step: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "rxscan never reached its write step"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

/// Interrupt a held run with `sig`; the folder must be as it was before.
fn interrupted_run_changes_nothing(sig: &str) {
    let root = tempfile::tempdir().expect("tempdir");
    let out = root.path().join("results");
    // The previous complete set: a full run with a patient list.
    assert!(scan_command(&out, &[]).status().expect("run").success());
    let before = contents(&out);
    // summary, composites, practices, patients, the report, run.json, evidence.jsonl and an
    // action list for each of the fixture's three practices (issue #11).
    assert_eq!(before.len(), 10, "{:?}", before.keys());

    // A second run, with suppression (its set would differ), caught while writing.
    let marker = root.path().join("held");
    let child = start_held(&out, &marker, &["--suppress", "--index-date", "2020-04-01"]);
    assert_eq!(
        beside(&out).len(),
        2,
        "the held run stages beside the folder and the marker"
    );
    signal(&child, sig);
    let done = child.wait_with_output().expect("wait");
    assert_eq!(done.status.code(), Some(130), "{sig}: exit status");
    assert!(
        String::from_utf8_lossy(&done.stderr).contains("interrupted"),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert_eq!(
        contents(&out),
        before,
        "{sig}: the previous set is untouched"
    );
    assert_eq!(beside(&out), ["held"], "{sig}: no staging folder left");
}

#[test]
fn sigint_during_the_write_step_leaves_the_previous_set() {
    interrupted_run_changes_nothing("-INT");
}

#[test]
fn sigterm_during_the_write_step_leaves_the_previous_set() {
    interrupted_run_changes_nothing("-TERM");
}

#[test]
fn an_interrupted_first_run_writes_nothing() {
    let root = tempfile::tempdir().expect("tempdir");
    let out = root.path().join("results");
    let marker = root.path().join("held");
    let child = start_held(&out, &marker, &[]);
    signal(&child, "-INT");
    let done = child.wait_with_output().expect("wait");
    assert_eq!(done.status.code(), Some(130));
    assert!(contents(&out).is_empty(), "{:?}", contents(&out).keys());
    assert_eq!(beside(&out), ["held"]);
}

#[test]
fn a_killed_runs_staging_is_removed_by_the_next_run() {
    let root = tempfile::tempdir().expect("tempdir");
    let out = root.path().join("results");
    let marker = root.path().join("held");
    let mut child = start_held(&out, &marker, &[]);
    signal(&child, "-KILL");
    child.wait().expect("wait");
    // kill -9 cannot be caught: the staging folder (with a patient list) is left beside the
    // output folder, never inside it.
    let left = beside(&out);
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(contents(&out).is_empty());
    let staging = left.iter().find(|n| *n != "held").expect("staging folder");
    assert!(staging.starts_with(".results.rxscan-staging-"), "{staging}");

    assert!(scan_command(&out, &[]).status().expect("run").success());
    assert_eq!(
        beside(&out),
        ["held"],
        "the next run removed the stale staging"
    );
    assert_eq!(contents(&out).len(), 10);
}
