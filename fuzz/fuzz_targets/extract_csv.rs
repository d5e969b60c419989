//! Bytes -> one table file of an otherwise valid extract -> `Extract::load`. Must never panic:
//! every input either loads or returns an error.
//!
//! The first byte picks the table the rest of the input replaces (bits 0-1), whether orphans
//! are skipped (bit 2) and whether only some codes are kept, as in a scan (bit 3); the other
//! three tables are the valid ones of `testdata/e2e`. Every error message
//! is also rendered, since building it reads the file again (line numbers, short rows).
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rxscan_core::extract::{Extract, KeepCode, LoadOptions};

const TABLES: [&str; 4] = [
    "medications",
    "clinical_events",
    "patients",
    "practice_registrations",
];

fn dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().expect("tempdir");
        let e2e = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/e2e");
        for t in TABLES {
            std::fs::copy(
                e2e.join(format!("{t}.csv")),
                d.path().join(format!("{t}.csv")),
            )
            .expect("copy the e2e table");
        }
        d
    })
    .path()
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let table = TABLES[(selector & 3) as usize];
    let dir = dir();
    let path = dir.join(format!("{table}.csv"));
    let original = std::fs::read(&path).expect("read the valid table");
    std::fs::write(&path, body).expect("write the fuzzed table");
    // Bit 3 loads as a scan does, keeping only codes in a (small) plan's codelists; otherwise
    // every code is interned.
    // Bit 4 also keeps rows only in a date span, as a scan at a few index dates does.
    let keep = |codes: &[&str]| {
        (selector & 8 != 0).then(|| {
            codes
                .iter()
                .map(|c| KeepCode {
                    code: c.to_string(),
                    from: if selector & 16 != 0 { 18_000 } else { i32::MIN },
                    to: if selector & 16 != 0 { 18_400 } else { i32::MAX },
                })
                .collect()
        })
    };
    let opts = LoadOptions {
        skip_orphans: selector & 4 != 0,
        keep_medication_codes: keep(&["318901006", "329653008", "5577011000001106"]),
        keep_event_codes: keep(&["1011481000000105", "195967001"]),
        index_date_range: None,
    };
    if let Err(e) = Extract::load(dir, &opts) {
        let _ = e.to_string();
    }
    std::fs::write(&path, original).expect("restore the valid table");
});
