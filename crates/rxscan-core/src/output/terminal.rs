//! The terminal summary of a scan: what was read, totals per measure at the last index date
//! (with a monthly trend when several dates were scanned), timings and the files written.
//! Under suppression the totals follow the same rule as the files.

use std::fmt::Write as _;

use crate::dates;
use crate::results::{Results, Suppression};
pub use crate::scan::RunFacts;

/// The summary as text.
pub fn render(r: &Results, s: Suppression, facts: &RunFacts) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_summary(&mut out, r, s, facts);
    out
}

fn write_summary(
    out: &mut String,
    r: &Results,
    s: Suppression,
    facts: &RunFacts,
) -> std::fmt::Result {
    writeln!(
        out,
        "rxscan: {} patients, {} practices, {} medication and {} clinical-event rows read ({} and {} matched a codelist)",
        facts.patients,
        facts.practices,
        facts.medications.0,
        facts.clinical_events.0,
        facts.medications.1,
        facts.clinical_events.1
    )?;
    let n_dates = r.index_dates.len();
    let last = n_dates - 1;
    let suppressed = if s == Suppression::None {
        ""
    } else {
        " (suppressed: counts of 7 or fewer redacted, others rounded to 5)"
    };
    writeln!(
        out,
        "totals over all practices at {}{suppressed}:",
        dates::format_iso(r.index_dates[last])
    )?;
    let trend_head = if n_dates > 1 {
        format!(
            "  rate% monthly from {}",
            dates::format_iso(r.index_dates[0])
        )
    } else {
        String::new()
    };
    writeln!(
        out,
        "  {:<10} {:<7} {:>10} {:>12} {:>7}{trend_head}",
        "measure", "primis", "numerator", "denominator", "rate%"
    )?;
    for (m, measure) in r.measure_info.iter().enumerate() {
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
        writeln!(
            out,
            "  {:<10} {:<7} {:>10} {:>12} {:>7}{trend}",
            measure.id,
            measure.primis,
            shown.numerator_text(),
            shown.denominator_text(),
            shown.rate_text()
        )?;
    }
    if facts.folders > 0 {
        writeln!(
            out,
            "{} index date(s); {} practice folders scanned in {:.2}s, total {:.2}s",
            n_dates,
            facts.folders,
            facts.load.as_secs_f64(),
            facts.total.as_secs_f64()
        )?;
    } else {
        writeln!(
            out,
            "{} index date(s); load {:.2}s, evaluate {:.2}s, total {:.2}s",
            n_dates,
            facts.load.as_secs_f64(),
            facts.evaluate.as_secs_f64(),
            facts.total.as_secs_f64()
        )?;
    }
    for w in &facts.written {
        writeln!(out, "wrote {}", w.display())?;
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
