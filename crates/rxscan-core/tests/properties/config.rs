//! How many cases each property runs: a base count per property, times
//! `RXSCAN_PROPTEST_SCALE`.

use proptest::prelude::ProptestConfig;

pub fn config(cases: u32) -> ProptestConfig {
    let scale = std::env::var("RXSCAN_PROPTEST_SCALE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(1.0);
    ProptestConfig {
        cases: ((cases as f64 * scale).round() as u32).max(1),
        // Failures are turned into explicit regression tests by hand, not files in the tree.
        failure_persistence: None,
        max_shrink_time: 600_000,
        max_global_rejects: 10_000,
        ..ProptestConfig::default()
    }
}
