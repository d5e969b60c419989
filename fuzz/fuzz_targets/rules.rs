//! Rule text -> `compile_sources` -> rendered diagnostics (and, when it compiles, evaluation on
//! the small e2e extract). Must never panic: every input either compiles or returns diagnostics.
//!
//! The input is compiled as one file placed in `rules/pincer/`, so codelist paths such as
//! `codelists/pincer-nsaid.csv` resolve to real files and the fuzzer can reach the type checker
//! and the lowering, not only the parser.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rxscan_core::compile::{compile_sources, CompileOptions};
use rxscan_core::eval::{evaluate, EvalOptions};
use rxscan_core::extract::{Extract, LoadOptions};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn extract() -> &'static Extract {
    static EX: OnceLock<Extract> = OnceLock::new();
    EX.get_or_init(|| {
        Extract::load(&repo().join("testdata/e2e"), &LoadOptions::default())
            .expect("the e2e extract loads")
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let path = repo().join("rules/pincer/fuzz-input.rx");
    // Rendering the diagnostics (source line, caret, hint) is part of what a user sees; it
    // must not panic either, whatever the spans point into.
    let compiled = match compile_sources(vec![(path, text)], &CompileOptions::default()) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.render(false);
            return;
        }
    };
    let _ = compiled.sources.render(&compiled.warnings, false);
    let Some(index) = rxscan_core::dates::parse_iso("2020-03-01") else {
        return;
    };
    let _ = evaluate(
        &compiled.plan,
        extract(),
        &[index],
        &EvalOptions { patient_rows: true },
    );
});
