//! Compiler diagnostics, snapshot-tested: one broken pack per diagnostic code in
//! `testdata/rules-broken/` (for the codes of test files, a pack whose `tests/` are broken). A snapshot pins the whole message (file:line:col, code, source
//! line, caret, hint), so a regression in wording or position shows up in review.
//!
//! Each fixture folder holds the pack and an `expect.toml` naming the codes it must produce
//! (exactly), its error count, and any `--param` overrides. One test walks the folders; adding
//! a case adds a folder, not a function. Another fails when a code of the catalogue has no
//! fixture, and another when `docs/DIAGNOSTICS.md` drifts from the catalogue.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rxscan_core::compile::{compile_dir, CompileError, CompileOptions};
use rxscan_core::diagnostics::{markdown_table, Code, Diagnostic, Severity};
use rxscan_core::packs::Pack;
use rxscan_core::ruletest::{read_suite, TestError};

fn fixtures_root() -> PathBuf {
    common::repo().join("testdata/rules-broken")
}

/// A fixture's `expect.toml`: a small TOML subset of `key = value` lines, values an integer
/// or an array of strings.
#[derive(Debug, Default)]
struct Expect {
    codes: BTreeSet<String>,
    errors: usize,
    params: Vec<(String, String)>,
}

fn read_expect(dir: &Path) -> Expect {
    let path = dir.join("expect.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (every fixture names its codes)", path.display()));
    let mut expect = Expect::default();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("{}: not `key = value`: {line}", path.display()));
        let value = value.trim();
        let strings = || -> Vec<String> {
            let inner = value.trim_start_matches('[').trim_end_matches(']');
            inner
                .split(',')
                .map(|s| s.trim().trim_matches('"').to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        match key.trim() {
            "codes" => expect.codes = strings().into_iter().collect(),
            "errors" => expect.errors = value.parse().expect("errors is a number"),
            "params" => {
                expect.params = strings()
                    .iter()
                    .map(|p| {
                        let (k, v) = p.split_once('=').expect("params are NAME=VALUE");
                        (k.to_string(), v.to_string())
                    })
                    .collect()
            }
            other => panic!("{}: unknown key `{other}`", path.display()),
        }
    }
    expect
}

/// What compiling a fixture gives: the rendered text (paths made relative), the error count
/// and the codes of every diagnostic.
struct Outcome {
    text: String,
    errors: usize,
    codes: BTreeSet<String>,
}

fn compile_case(case: &str) -> Outcome {
    let root = fixtures_root();
    let dir = root.join(case);
    let opts = CompileOptions {
        params: read_expect(&dir).params,
        ..CompileOptions::default()
    };
    let codes = |ds: &[Diagnostic]| ds.iter().map(|d| d.code.code().to_string()).collect();
    let (text, errors, codes) = match compile_dir(&dir, &opts) {
        // A pack with tests: what reading them reports (the codes of `rxscan test`).
        Ok(c) if dir.join("tests").is_dir() => match read_suite(&Pack::Dir(dir.clone()), &c.plan) {
            Ok(_) => (String::new(), 0, BTreeSet::new()),
            Err(e) => {
                let (n, found) = match &e {
                    TestError::Invalid { diagnostics, .. } => (
                        diagnostics
                            .iter()
                            .filter(|d| d.severity == Severity::Error)
                            .count(),
                        codes(diagnostics),
                    ),
                    _ => (1, BTreeSet::new()),
                };
                (e.render(false), n, found)
            }
        },
        Ok(c) => (c.sources.render(&c.warnings, false), 0, codes(&c.warnings)),
        Err(e) => {
            let (n, found) = match &e {
                CompileError::Invalid { diagnostics, .. } => (
                    diagnostics
                        .iter()
                        .filter(|d| d.severity == Severity::Error)
                        .count(),
                    codes(diagnostics),
                ),
                _ => (1, BTreeSet::new()),
            };
            (e.render(false), n, found)
        }
    };
    let prefix = format!("{}/", root.display());
    Outcome {
        text: text.replace(&prefix, "rules-broken/"),
        errors,
        codes,
    }
}

/// Compile a broken pack and render what the user would see, with paths made relative.
fn render(case: &str) -> (String, usize) {
    let o = compile_case(case);
    (o.text, o.errors)
}

/// Every folder of `testdata/rules-broken/` that holds a rule file, by name.
fn fixtures() -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(fixtures_root()).expect("rules-broken") {
        let path = entry.expect("entry").path();
        let has_rules = path.is_dir()
            && std::fs::read_dir(&path)
                .expect("fixture folder")
                .any(|f| f.is_ok_and(|f| f.path().extension().is_some_and(|e| e == "rx")));
        if has_rules {
            out.push(
                path.file_name()
                    .expect("name")
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    out.sort();
    out
}

#[test]
fn every_fixture_matches_its_snapshot_and_produces_the_codes_it_names() {
    let mut wrong = Vec::new();
    for case in fixtures() {
        let expect = read_expect(&fixtures_root().join(&case));
        let o = compile_case(&case);
        if (&o.codes, o.errors) != (&expect.codes, expect.errors) {
            wrong.push(format!(
                "{case}: expected codes {:?} and {} error(s), found {:?} and {}:\n{}",
                expect.codes, expect.errors, o.codes, o.errors, o.text
            ));
        }
        let text = o.text;
        insta::assert_snapshot!(case.as_str(), text);
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Column mappings with one mistake each, in `testdata/mappings-broken/<case>/mapping.toml`,
/// read against the EMIS-like example extract (`testdata/mappings/emis-like`): the mistakes
/// only the export's header can show are found when the extract is loaded.
fn mapping_fixtures() -> Vec<String> {
    let root = common::repo().join("testdata/mappings-broken");
    let mut out: Vec<String> = std::fs::read_dir(&root)
        .expect("mappings-broken")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| root.join(name).join("mapping.toml").is_file())
        .collect();
    out.sort();
    out
}

/// What reading a broken mapping and loading the example extract with it gives.
fn mapping_case(case: &str) -> Outcome {
    use rxscan_core::extract::{Extract, ExtractError, LoadOptions, Mapping, MappingError};
    let repo = common::repo();
    let path = repo
        .join("testdata/mappings-broken")
        .join(case)
        .join("mapping.toml");
    let error: MappingError = match Mapping::read(&path) {
        Err(e) => e,
        Ok(mapping) => {
            let opts = LoadOptions {
                mapping: Some(std::sync::Arc::new(mapping)),
                ..LoadOptions::default()
            };
            match Extract::load(&repo.join("testdata/mappings/emis-like"), &opts) {
                Err(ExtractError::Mapping(e)) => *e,
                Err(other) => panic!("{case}: not a mapping diagnostic: {other}"),
                Ok(_) => panic!("{case}: the extract loaded"),
            }
        }
    };
    let errors = error
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let codes = error
        .diagnostics
        .iter()
        .map(|d| d.code.code().to_string())
        .collect();
    let text = error
        .render(false)
        .replace(&format!("{}/", repo.display()), "");
    Outcome {
        text,
        errors,
        codes,
    }
}

#[test]
fn every_mapping_fixture_matches_its_snapshot_with_a_caret() {
    let mut wrong = Vec::new();
    for case in mapping_fixtures() {
        let expect = read_expect(&common::repo().join("testdata/mappings-broken").join(&case));
        let o = mapping_case(&case);
        if (&o.codes, o.errors) != (&expect.codes, expect.errors) {
            wrong.push(format!(
                "{case}: expected codes {:?} and {} error(s), found {:?} and {}:\n{}",
                expect.codes, expect.errors, o.codes, o.errors, o.text
            ));
        }
        // Every diagnostic points into the mapping: its file:line:col, the line, a caret.
        assert!(o.text.contains("mapping.toml:"), "{case}:\n{}", o.text);
        assert!(o.text.contains('^'), "{case}: no caret:\n{}", o.text);
        insta::assert_snapshot!(format!("mapping_{case}"), o.text);
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_mapping_column_not_in_the_header_names_the_closest_column() {
    let o = mapping_case("column_not_in_header");
    assert!(o.text.contains("mapping.toml:7:17: error[RX069]: column `Date of Brith` is not in the header of testdata/mappings/emis-like/Patient Details.csv"), "{}", o.text);
    assert!(
        o.text.contains("did you mean `Date of Birth`?"),
        "{}",
        o.text
    );
}

#[test]
fn every_code_has_a_fixture() {
    let mut covered = BTreeSet::new();
    for case in fixtures() {
        covered.extend(read_expect(&fixtures_root().join(case)).codes);
    }
    for case in mapping_fixtures() {
        let dir = common::repo().join("testdata/mappings-broken").join(case);
        covered.extend(read_expect(&dir).codes);
    }
    let missing: Vec<String> = Code::ALL
        .iter()
        .filter(|c| !covered.contains(c.code()))
        .map(|c| format!("{} {}", c.code(), c.name()))
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a fixture in testdata/rules-broken/ or testdata/mappings-broken/: {missing:?}"
    );
    for code in &covered {
        assert!(Code::find(code).is_some(), "a fixture names unknown {code}");
    }
}

/// `docs/DIAGNOSTICS.md` holds the table of codes between two markers; it must be what the
/// catalogue renders. `RXSCAN_BLESS=1 cargo test` rewrites it.
#[test]
fn the_codes_table_in_the_docs_matches_the_catalogue() {
    let path = common::repo().join("docs/DIAGNOSTICS.md");
    let doc = std::fs::read_to_string(&path).expect("docs/DIAGNOSTICS.md");
    let (start, end) = ("<!-- codes:start -->\n", "<!-- codes:end -->");
    let a = doc.find(start).expect("start marker") + start.len();
    let b = doc.find(end).expect("end marker");
    let table = markdown_table();
    if doc[a..b] != table {
        if std::env::var_os("RXSCAN_BLESS").is_some() {
            let fixed = format!("{}{table}{}", &doc[..a], &doc[b..]);
            std::fs::write(&path, fixed).expect("write docs/DIAGNOSTICS.md");
        } else {
            panic!("docs/DIAGNOSTICS.md is out of date; run with RXSCAN_BLESS=1 to rewrite it");
        }
    }
}

/// The error count of each of the first sixteen fixtures (their snapshots are checked with
/// every other fixture's above).
macro_rules! diagnostic_snapshots {
    ($($name:ident => $errors:expr),* $(,)?) => {$(
        #[test]
        fn $name() {
            let (text, errors) = render(stringify!($name));
            assert_eq!(errors, $errors, "error count for {}:\n{text}", stringify!($name));
        }
    )*};
}

diagnostic_snapshots! {
    unknown_name => 1,
    wrong_codelist_table => 1,
    missing_codelist_file => 1,
    missing_codelist_column => 1,
    window_end_before_start => 1,
    type_mismatch => 1,
    duplicate_measure => 1,
    definition_cycle => 1,
    syntax_error => 2,
    three_mistakes => 3,
    too_deep => 1,
    huge_window => 1,
    missing_doc_headings => 0,
    exponential_definitions => 1,
    long_define_chain => 1,
    unclosed_paren => 1,
}

#[test]
fn did_you_mean_names_the_close_definition() {
    let (text, _) = render("unknown_name");
    assert!(text.contains("unknown name `nsiad_3m`"), "{text}");
    assert!(text.contains("did you mean `nsaid_3m`?"), "{text}");
    assert!(
        text.contains("rules-broken/unknown_name/rules.rx:8:15: error"),
        "{text}"
    );
}

#[test]
fn three_mistakes_give_three_located_errors() {
    let (text, errors) = render("three_mistakes");
    assert_eq!(errors, 3);
    for needle in [
        "rules.rx:8:32: error[RX022]: type mismatch: cannot compare a number with a string",
        "rules.rx:9:31: error[RX033]: `findings` is a SNOMED CT (clinical) codelist, used on `medications`",
        "rules.rx:9:68: error[RX011]: unknown name `drugz`",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

/// Issue 4's resource bound: nesting 10,000 deep is rejected with one message, not a crash.
#[test]
fn nesting_ten_thousand_deep_is_rejected() {
    let src = format!(
        "define deep = {}true{}\n",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    let err = rxscan_core::compile::compile_sources(
        vec![("deep.rx".into(), src)],
        &CompileOptions::default(),
    )
    .expect_err("must be rejected");
    let text = err.render(false);
    assert!(
        text.contains("deep.rx:1:79: error[RX043]: expression nested more than 64 levels deep"),
        "{}",
        &text[..text.len().min(300)]
    );
    let not_chain = format!("define deep = {}true\n", "not ".repeat(10_000));
    let err = rxscan_core::compile::compile_sources(
        vec![("not.rx".into(), not_chain)],
        &CompileOptions::default(),
    )
    .expect_err("must be rejected");
    assert!(err
        .render(false)
        .contains("nested more than 64 levels deep"));
}
