//! `rxscan test`: a pack's own tests. Exit 0 when all hold, 1 when one does not (with the
//! file and line, the patient, the measure, expected and actual, and the why tree), 2 when the
//! tests cannot be run (a malformed test file gets a diagnostic with a caret).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rxscan(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rxscan"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run rxscan")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A copy of the README's example pack (`testdata/example-pack`) to break.
fn example_copy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = repo().join("testdata/example-pack");
    for sub in ["", "codelists", "tests"] {
        std::fs::create_dir_all(tmp.path().join(sub)).expect("mkdir");
        for e in std::fs::read_dir(src.join(sub)).expect("read") {
            let p = e.expect("entry").path();
            if p.is_file() {
                std::fs::copy(&p, tmp.path().join(sub).join(p.file_name().expect("name")))
                    .expect("copy");
            }
        }
    }
    tmp
}

#[test]
fn the_pincer_pack_passes_its_tests() {
    let run = rxscan(&repo(), &["test", "--rules", "rules/pincer"]);
    let out = text(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{out}{}", text(&run.stderr));
    // 361 measure outcomes and 22 practices, carried over from testdata/boundaries.
    assert!(
        out.ends_with("14 test files, 383 expectations: all hold\n"),
        "{out}"
    );
    assert!(out.contains("ok   rules/pincer/tests/k.toml: 36 patients, 36 expectations"));
}

#[test]
fn the_built_in_pack_carries_its_tests_to_any_folder() {
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let run = rxscan(elsewhere.path(), &["test"]);
    let out = text(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{out}{}", text(&run.stderr));
    assert!(out.contains("ok   <built-in>/pincer/tests/a.toml"), "{out}");
}

#[test]
fn the_example_pack_passes_its_tests() {
    let run = rxscan(&repo(), &["test", "--rules", "testdata/example-pack"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert_eq!(
        text(&run.stdout),
        "ok   testdata/example-pack/tests/lithium_nsaid.toml: 9 patients, 9 expectations\n\
         1 test files, 9 expectations: all hold\n"
    );
}

/// Patient 4's NSAID is dated the day before the window opens; an author who expects it to
/// count is told where, who, what, and why (every condition of the rule, true or false).
#[test]
fn a_broken_expectation_exits_1_with_where_who_what_and_why() {
    let pack = example_copy();
    let file = pack.path().join("tests/lithium_nsaid.toml");
    let toml = std::fs::read_to_string(&file).expect("read");
    let broken = toml.replacen(
        "[\"I-3m-1d\", \"329653008\"]]\nexpect = { lithium_nsaid = \"denominator\" }",
        "[\"I-3m-1d\", \"329653008\"]]\nexpect = { lithium_nsaid = \"numerator\" }",
        1,
    );
    assert_ne!(broken, toml, "the case to break is in the example");
    std::fs::write(&file, broken).expect("write");
    let run = rxscan(pack.path(), &["test", "--rules", "."]);
    let out = text(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{out}{}", text(&run.stderr));
    assert!(
        out.contains(
            "FAIL ./tests/lithium_nsaid.toml:34: patient 4 at 2021-10-01, measure lithium_nsaid"
        ),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn a_malformed_test_file_exits_2_with_a_diagnostic() {
    let pack = example_copy();
    let file = pack.path().join("tests/lithium_nsaid.toml");
    let toml = std::fs::read_to_string(&file).expect("read");
    std::fs::write(&file, toml.replacen("\"I-21d\"", "\"I-21\"", 1)).expect("write");
    let run = rxscan(pack.path(), &["test", "--rules", "."]);
    let err = text(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(run.stdout.is_empty(), "no report when the tests cannot run");
    assert!(
        err.starts_with("./tests/lithium_nsaid.toml:14:46: error[RX061]:"),
        "{err}"
    );
    insta::assert_snapshot!(err);
}

#[test]
fn a_pack_without_tests_exits_2() {
    let pack = example_copy();
    std::fs::remove_dir_all(pack.path().join("tests")).expect("rm");
    let run = rxscan(pack.path(), &["test", "--rules", "."]);
    assert_eq!(run.status.code(), Some(2));
    assert_eq!(
        text(&run.stderr),
        "error: . has no test files (tests/*.toml)\n"
    );
}
