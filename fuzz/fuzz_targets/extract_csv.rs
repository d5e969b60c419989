//! Bytes -> one table file of an otherwise valid extract -> `Extract::load`. Must never panic:
//! every input either loads or returns an error.
//!
//! The first byte picks the table the rest of the input replaces (bits 0-1), whether orphans
//! are skipped (bit 2) and whether only some codes are kept, as in a scan (bit 3); the other
//! three tables are the valid ones of `testdata/e2e`. Every error message
//! is also rendered, since building it reads the file again (line numbers, short rows).
//!
//! With a keep set the loader takes its fast paths (the CSV line scanner, the pass over
//! polars' arrays); the same file is then also loaded without one, which takes only the exact
//! validators, and the two must agree: the same error message, or the same kept rows. Bit 5
//! makes the scanner's windows and chunks a few bytes long.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rxscan_core::extract::{Extract, ExtractError, KeepCode, LoadOptions};

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

/// The line (or row) an error names, if it names one.
fn line_of(e: &ExtractError) -> Option<String> {
    match e {
        ExtractError::BadValue(b) => Some(b.location.to_string()),
        ExtractError::Malformed { location, .. } => Some(location.to_string()),
        _ => None,
    }
}

/// The rows a keep set keeps, from either load: (table, patient id, day, code, value bits,
/// comparator), in table order.
fn kept(ex: &Extract, meds: &[KeepCode], events: &[KeepCode]) -> Vec<(u8, i64, i32, String, u64, u8)> {
    let mut out = Vec::new();
    for (t, table, keep) in [(0u8, &ex.medications, meds), (1, &ex.clinical_events, events)] {
        for p in 0..ex.n_patients() {
            for r in table.rows(p) {
                let code = &table.codes[table.code[r] as usize];
                let day = table.day[r];
                if !keep.iter().any(|k| k.code == *code && k.from <= day && day <= k.to) {
                    continue;
                }
                let value = table.value.get(r).map_or(0, |v| v.to_bits());
                let cmp = table.comparator.get(r).copied().unwrap_or(0);
                out.push((t, ex.patient_ids[p], day, code.clone(), value, cmp));
            }
        }
    }
    out
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
        // Bit 5: the CSV scanner maps the file 40 bytes at a time, in 8-byte chunks, so that
        // window and chunk ends fall everywhere in the input.
        csv_window_and_chunk: (selector & 32 != 0).then_some((40, 8)),
        ..LoadOptions::default()
    };
    let fast = Extract::load(dir, &opts);
    if let Err(e) = &fast {
        let _ = e.to_string();
    }
    if let (Some(meds), Some(events)) = (&opts.keep_medication_codes, &opts.keep_event_codes) {
        let exact = Extract::load(
            dir,
            &LoadOptions {
                keep_medication_codes: None,
                keep_event_codes: None,
                ..opts.clone()
            },
        );
        match (&fast, &exact) {
            // Cut into 40-byte windows (bit 5), the text polars parses is not the text a plain
            // load parses, and on malformed input polars' verdict depends on the cut: a text
            // it rejects whole (sometimes without naming a line) may parse piece by piece, and
            // which of several problems is found first can change. So under bit 5 both loads
            // must fail (or the plain load fail in polars alone), and need not name the same
            // problem; with the default sizes they must name the same line.
            (Err(_), Err(_)) if selector & 32 != 0 => {}
            (_, Err(ExtractError::Unreadable { .. })) if selector & 32 != 0 => {}
            // Two problems on one line (a bad value on a line with a field too many): polars
            // accepts such a line inside a longer text but not on its own, so the paths may
            // name either; they must name the same line.
            (Err(a), Err(b)) => match (line_of(a), line_of(b)) {
                (Some(x), Some(y)) => assert_eq!(x, y, "the paths disagree: {a} / {b}"),
                _ => assert_eq!(a.to_string(), b.to_string(), "the paths disagree"),
            },
            (Ok(a), Ok(b)) => {
                assert_eq!(kept(a, meds, events), kept(b, meds, events), "the paths disagree");
            }
            (a, b) => panic!(
                "the paths disagree: with a keep set {:?}, without {:?}",
                a.as_ref().err().map(|e| e.to_string()),
                b.as_ref().err().map(|e| e.to_string())
            ),
        }
    }
    std::fs::write(&path, original).expect("restore the valid table");
});
