//! The shipped PINCER pack (`rules/pincer`) as INDICATORS.md specifies it, written once for
//! every test that names its measures, composites or codelists: measure ids, composites,
//! codelist names and files, and the features (codelist and window) the measures are built
//! from.
//!
//! Plain constants with no dependencies, so that the CLI crate's tests include this file too
//! (`#[path = "../../rxscan-core/tests/common/pincer.rs"] mod pincer;`).
#![allow(dead_code)] // each test binary uses a part

/// The 14 measures, in the pack's order (INDICATORS.md §4).
pub const MEASURES: [&str; 14] = [
    "a",
    "b",
    "c",
    "d",
    "e",
    "f",
    "g",
    "i",
    "k",
    "ac",
    "me_no_fbc",
    "me_no_lft",
    "li",
    "am",
];

/// The composites and their member measures, a nested composite's members in its place
/// (INDICATORS.md §5).
pub const COMPOSITES: [(&str, &[&str]); 4] = [
    ("gi_bleed", &["a", "b", "c", "d", "e", "f"]),
    ("other_prescribing", &["g", "i", "k"]),
    ("monitoring", &["ac", "me_no_fbc", "me_no_lft", "li", "am"]),
    ("all", &MEASURES),
];

/// The codelists over `medications` (dm+d); every other codelist is over `clinical_events`
/// (SNOMED CT).
pub const MEDICATION_CODELISTS: [&str; 12] = [
    "nsaid",
    "ppi",
    "anticoag",
    "antiplat",
    "aspirin",
    "non_asp_antiplate",
    "nsbb",
    "acei",
    "diur",
    "met",
    "lith",
    "amio",
];

/// The folder of the pack's codelist files, from the repository root.
pub const CODELISTS_DIR: &str = "rules/pincer/codelists";

/// The file (in [`CODELISTS_DIR`]) codelist `name` is read from.
pub fn codelist_file(name: &str) -> String {
    format!("pincer-{name}.csv")
}

/// A window in whole months from the index date: `(Some(a), b)` is `[index + a months,
/// index + b months]`, `(None, b)` everything up to `index + b months`.
pub type Months = (Option<i32>, i32);

const W3: Months = (Some(-3), 0);
const W6: Months = (Some(-6), 0);
const W15: Months = (Some(-15), 0);
const W6_3: Months = (Some(-6), -3);
const W12_6: Months = (Some(-12), -6);
const H3: Months = (None, -3);
const H15: Months = (None, -15);
const H0: Months = (None, 0);

/// The `has(codelist, window)` features (INDICATORS.md §3).
pub const HAS: [(&str, Months); 25] = [
    ("nsaid", W3),
    ("ppi", W3),
    ("pep", H3),
    ("gi_bleed", H3),
    ("anticoag", W3),
    ("aspirin", W3),
    ("non_asp_antiplate", W3),
    ("nsbb", W3),
    ("hf", H3),
    ("acei", H15),
    ("acei", W6),
    ("diur", H15),
    ("diur", W6),
    ("renal", W15),
    ("electro", W15),
    ("met", W6_3),
    ("met", W3),
    ("fbc", W3),
    ("lft", W3),
    ("lith", W6_3),
    ("lith", W3),
    ("lith_lev", W3),
    ("amio", W12_6),
    ("amio", W6),
    ("tft", W6),
];

/// The `latest(codelist, window)` features (INDICATORS.md §3).
pub const LATEST: [(&str, Months); 3] = [("ast", H3), ("ast_res", H0), ("egfr", H3)];

/// The `within(a, b, gap, window)` features (INDICATORS.md §3): the two codelists, the
/// greatest gap in days and the window.
pub const WITHIN: [(&str, &str, i32, Months); 2] = [
    ("anticoag", "antiplat", 27, W3),
    ("aspirin", "non_asp_antiplate", 27, W3),
];
