//! Progress on stderr: a spinner, then a bar over a batch's practice folders, drawn only once
//! a run has lasted half a second (a quick scan leaves no trace), and never when stderr is not
//! a terminal or with `--quiet` (the bar is then hidden).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub fn bar(quiet: bool) -> ProgressBar {
    use std::io::IsTerminal;
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    if quiet || !std::io::stderr().is_terminal() {
        return bar;
    }
    bar.set_style(style("{spinner} {elapsed:>3} {msg}"));
    let shown = bar.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        if !shown.is_finished() {
            shown.set_draw_target(ProgressDrawTarget::stderr());
            shown.enable_steady_tick(Duration::from_millis(120));
        }
    });
    bar
}

/// Switch to a bar counting `n` steps (a batch scan's practice folders).
pub fn count(bar: &ProgressBar, n: usize) {
    bar.set_style(style("{elapsed:>3} [{bar:30}] {pos}/{len} {msg}"));
    bar.set_length(n as u64);
    bar.set_message("practice folders scanned");
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}
