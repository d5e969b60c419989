//! Compiler diagnostics, snapshot-tested: one broken pack per error kind in
//! `testdata/rules-broken/`. A snapshot pins the whole message (file:line:col, source line,
//! caret, hint), so a regression in wording or position shows up in review.

mod common;

use rxscan_core::compile::{compile_dir, CompileError, CompileOptions};
use rxscan_core::diagnostics::Severity;

/// Compile a broken pack and render what the user would see, with paths made relative.
fn render(case: &str) -> (String, usize) {
    let root = common::repo().join("testdata/rules-broken");
    let dir = root.join(case);
    let (text, errors) = match compile_dir(&dir, &CompileOptions::default()) {
        Ok(c) => (c.sources.render(&c.warnings, false), 0),
        Err(e @ CompileError::Invalid { .. }) => {
            let n = match &e {
                CompileError::Invalid { diagnostics, .. } => diagnostics
                    .iter()
                    .filter(|d| d.severity == Severity::Error)
                    .count(),
                _ => 0,
            };
            (e.render(false), n)
        }
        Err(e) => (e.render(false), 1),
    };
    let prefix = format!("{}/", root.display());
    (text.replace(&prefix, "rules-broken/"), errors)
}

macro_rules! diagnostic_snapshots {
    ($($name:ident => $errors:expr),* $(,)?) => {$(
        #[test]
        fn $name() {
            let (text, errors) = render(stringify!($name));
            assert_eq!(errors, $errors, "error count for {}:\n{text}", stringify!($name));
            insta::assert_snapshot!(stringify!($name), text);
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
