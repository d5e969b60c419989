//! The shipped PINCER pack (compiled once per parameter set) and random cases for it: an
//! extract spec, index dates, a file format, a row order, and which parameters.

use std::sync::OnceLock;

use chrono::NaiveDate;
use proptest::prelude::*;
use rxscan_core::compile::CompileOptions;
use rxscan_core::plan::Plan;

use crate::common;
use crate::generators::{dates_spec, extract_spec, DatesSpec, ExtractSpec};
use crate::reference::RawExtract;
use crate::resolve::Ctx;
use crate::writers::{format_strategy, Format};

pub fn pincer() -> &'static Plan {
    pincer_with(0)
}

/// The shipped pack with its defaults (0), with the published `ac` precedence (1), or with
/// other thresholds (2).
pub fn pincer_with(params: u8) -> &'static Plan {
    static PLANS: [OnceLock<Plan>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let overrides: &[(&str, &str)] = match params {
        0 => &[],
        1 => &[("ac_literal_precedence", "true")],
        _ => &[("egfr_threshold", "30"), ("coprescription_gap", "28 days")],
    };
    PLANS[params as usize % 3].get_or_init(|| {
        let opts = CompileOptions {
            params: overrides
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..CompileOptions::default()
        };
        match rxscan_core::compile::compile_dir(&common::repo().join("rules/pincer"), &opts) {
            Ok(c) => c.plan,
            Err(e) => panic!(
                "the shipped pack must compile with {overrides:?}:\n{}",
                e.render(false)
            ),
        }
    })
}

#[derive(Debug, Clone)]
pub struct PincerCase {
    pub extract: ExtractSpec,
    pub dates: DatesSpec,
    pub format: Format,
    pub shuffle: Option<u64>,
    pub keep_all_codes: bool,
    /// See [`pincer_with`].
    pub params: u8,
}

pub fn pincer_case(patients: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = PincerCase> {
    (
        extract_spec(patients, 8),
        dates_spec(1..=3, false),
        format_strategy(),
        prop::option::weighted(0.3, any::<u64>()),
        prop::bool::weighted(0.2),
        prop_oneof![3 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
    )
        .prop_map(
            |(extract, dates, format, shuffle, keep_all_codes, params)| PincerCase {
                extract,
                dates,
                format,
                shuffle,
                keep_all_codes,
                params,
            },
        )
}

pub fn pincer_raw(case: &PincerCase) -> (Vec<NaiveDate>, RawExtract) {
    let dates = case.dates.dates();
    let raw = Ctx::new(pincer_with(case.params), &dates).resolve(&case.extract);
    (dates, raw)
}
