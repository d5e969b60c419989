//! Stopping a run (Ctrl-C, SIGTERM, SIGHUP) leaves no partial output.
//!
//! Results are staged beside the output folder and moved in under a commit lock
//! (`rxscan_core::output::folder`). The handler takes that lock and removes every staging
//! folder before exiting: an interrupt during the write step leaves the output folder as the
//! previous run left it, one during the final moves waits the few milliseconds they take. A
//! run killed outright (`kill -9`) leaves its staging folder; the next run into it removes it.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Exit status of an interrupted run (128 + SIGINT, the shell's convention).
const INTERRUPTED: i32 = 130;

/// Install the handler (once per process).
pub fn clean_up_on_signal() -> Result<()> {
    ctrlc::set_handler(|| {
        let _commit_lock = rxscan_core::output::abandon_all();
        crate::err("rxscan: interrupted; partial results removed\n");
        std::process::exit(INTERRUPTED);
    })
    .context("cannot install the interrupt handler")
}

/// Test hook for the interrupt tests (`tests/interrupts.rs`): with `RXSCAN_TEST_HOLD_WRITE`
/// set to a path, once the first output file is staged, create that file and wait up to a
/// minute, so a test can send a signal while a run is caught writing. Unset, it does nothing.
pub fn test_hold(staged: &str) {
    static HELD: std::sync::Once = std::sync::Once::new();
    let Some(marker) = std::env::var_os("RXSCAN_TEST_HOLD_WRITE") else {
        return;
    };
    HELD.call_once(|| {
        let _ = std::fs::write(&marker, staged);
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
    });
}
