//! Progress on stderr and the terminal summary. (The output files are written by
//! `rxscan_core::output`.)

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use rxscan_core::dates;
use rxscan_core::extract::Extract;
use rxscan_core::plan::Plan;
use rxscan_core::results::{Results, Suppression};

pub struct Progress(Option<ProgressBar>);

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        use std::io::IsTerminal;
        if quiet || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed:>3} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress(Some(bar))
    }
    pub fn stage(&self, msg: &str) {
        if let Some(b) = &self.0 {
            b.set_message(msg.to_string());
        }
    }
    pub fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

/// The terminal summary: what was read, totals per measure at the last index date (with a
/// monthly trend when several dates were scanned), timings and the files written. Under
/// suppression the totals follow the same rule as the files.
#[allow(clippy::too_many_arguments)]
pub fn print_summary(
    plan: &Plan,
    ex: &Extract,
    r: &Results,
    s: Suppression,
    written: &[PathBuf],
    loaded: Duration,
    evaluated: Duration,
    total: Duration,
) -> Result<()> {
    outln!(
        "rxscan: {} patients, {} practices, {} medication and {} clinical-event rows read ({} and {} matched a codelist)",
        ex.n_patients(),
        ex.practices.len(),
        ex.medications.rows_read,
        ex.clinical_events.rows_read,
        ex.medications.len(),
        ex.clinical_events.len()
    );
    let n_dates = r.index_dates.len();
    let last = n_dates - 1;
    let suppressed = if s == Suppression::None {
        ""
    } else {
        " (suppressed: counts of 7 or fewer redacted, others rounded to 5)"
    };
    outln!(
        "totals over all practices at {}{suppressed}:",
        dates::format_iso(r.index_dates[last])
    );
    let trend_head = if n_dates > 1 {
        format!(
            "  rate% monthly from {}",
            dates::format_iso(r.index_dates[0])
        )
    } else {
        String::new()
    };
    outln!(
        "  {:<10} {:<7} {:>10} {:>12} {:>7}{trend_head}",
        "measure",
        "primis",
        "numerator",
        "denominator",
        "rate%"
    );
    for (m, measure) in plan.measures.iter().enumerate() {
        let (num, den) = r.total(last, m);
        let shown = s.ratio(num, den);
        let trend = if n_dates > 1 {
            let rates: Vec<Option<f64>> = (0..n_dates)
                .map(|d| {
                    let (num, den) = r.total(d, m);
                    s.ratio(num, den).rate.and_then(|t| t.parse().ok())
                })
                .collect();
            format!("  {}", trend(&rates))
        } else {
            String::new()
        };
        outln!(
            "  {:<10} {:<7} {:>10} {:>12} {:>7}{trend}",
            measure.id,
            measure.primis,
            shown.numerator_text(),
            shown.denominator_text(),
            shown.rate_text()
        );
    }
    outln!(
        "{} index date(s); load {:.2}s, evaluate {:.2}s, total {:.2}s",
        r.index_dates.len(),
        loaded.as_secs_f64(),
        (evaluated - loaded).as_secs_f64(),
        total.as_secs_f64()
    );
    for w in written {
        outln!("wrote {}", w.display());
    }
    Ok(())
}

/// A monthly trend at a glance: one bar per date scaled between the lowest and highest rate
/// (`·` where the rate is redacted or has no denominator), then the first and last rates.
/// Long series show their last 36 months in the bars.
fn trend(rates: &[Option<f64>]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    const WIDTH: usize = 36;
    let shown = &rates[rates.len().saturating_sub(WIDTH)..];
    let known = || shown.iter().flatten().copied();
    let lo = known().fold(f64::INFINITY, f64::min);
    let hi = known().fold(f64::NEG_INFINITY, f64::max);
    let bars: String = shown
        .iter()
        .map(|r| match r {
            None => '·',
            Some(_) if hi <= lo => BARS[3],
            Some(v) => BARS[(((v - lo) / (hi - lo)) * 7.0).round() as usize],
        })
        .collect();
    let text = |r: Option<f64>| r.map_or_else(|| "-".to_string(), |v| format!("{v:.2}"));
    format!(
        "{bars} {} -> {}",
        text(rates[0]),
        text(rates[rates.len() - 1])
    )
}

#[cfg(test)]
mod tests {
    use super::trend;

    #[test]
    fn trend_scales_bars_between_the_extremes() {
        assert_eq!(
            trend(&[Some(1.0), Some(2.0), None, Some(8.0)]),
            "▁▂·█ 1.00 -> 8.00"
        );
        assert_eq!(trend(&[Some(5.0), Some(5.0)]), "▄▄ 5.00 -> 5.00");
        assert_eq!(trend(&[None, None]), "·· - -> -");
    }
}
