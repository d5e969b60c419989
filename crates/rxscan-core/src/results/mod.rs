//! Stage: results, and rendering them.
//!
//! One result model, [`Results`]: counts per index date, practice and measure; composite
//! histograms; and optional per-patient rows. Every output format renders from it, so the
//! files cannot disagree with each other. Rates are computed with integer arithmetic (round
//! half up to 2 decimals) so they are the same on every platform.

use std::io::{self, Write};

use crate::dates::{self, Day};

/// One patient in one measure's denominator at one index date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatientFlag {
    /// Index into [`Results::index_dates`].
    pub date: u32,
    /// Dense patient index; the id is `Results::patient_ids[patient]`.
    pub patient: u32,
    /// Index into [`Results::practices`].
    pub practice: u32,
    /// Index into [`Results::measures`].
    pub measure: u32,
    pub numerator: bool,
}

#[derive(Debug, Clone)]
pub struct Results {
    pub index_dates: Vec<Day>,
    pub practices: Vec<String>,
    pub measures: Vec<String>,
    /// Composite id and its number of members.
    pub composites: Vec<(String, usize)>,
    pub max_members: usize,
    /// `[date][practice][measure]`.
    pub numerators: Vec<u64>,
    pub denominators: Vec<u64>,
    /// Patients in the population, `[date][practice]`.
    pub population: Vec<u64>,
    /// `[date][practice][composite]`.
    pub composite_denominators: Vec<u64>,
    /// `[date][practice][composite][n]`: patients with exactly n member numerators.
    pub composite_histogram: Vec<u64>,
    /// Sorted by date, patient, measure. Empty unless asked for.
    pub patient_rows: Vec<PatientFlag>,
    pub patient_ids: Vec<i64>,
}

/// Small-number suppression for aggregates meant for sharing (OpenSAFELY convention).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Suppression {
    #[default]
    None,
    /// Counts of 7 or fewer are redacted; others are rounded to the nearest 5.
    Redact7Round5,
}

impl Suppression {
    /// The count as it may be shown, or `None` when redacted.
    pub fn apply(self, n: u64) -> Option<u64> {
        match self {
            Suppression::None => Some(n),
            Suppression::Redact7Round5 if n <= 7 => None,
            Suppression::Redact7Round5 => Some((n + 2) / 5 * 5),
        }
    }

    /// A numerator, denominator and rate as they may be shown: each count through
    /// [`Suppression::apply`], and the rate computed from the *shown* counts (redacted when
    /// either count is). A rate from the exact counts would let anyone undo the rounding: from
    /// `10,160,6.83` the only pair that rounds to (10, 160) with that rate is 11/161.
    pub fn ratio(self, num: u64, den: u64) -> Shown {
        let (numerator, denominator) = (self.apply(num), self.apply(den));
        let rate = match (numerator, denominator) {
            (Some(n), Some(d)) => Some(format_rate(n, d)),
            _ => None,
        };
        Shown {
            numerator,
            denominator,
            rate,
        }
    }
}

/// A numerator, denominator and rate after suppression; `None` is redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub numerator: Option<u64>,
    pub denominator: Option<u64>,
    /// `format_rate` of the shown counts (empty when the shown denominator is 0).
    pub rate: Option<String>,
}

impl Shown {
    /// The numerator as written in a file: the number, or `[REDACTED]`.
    pub fn numerator_text(&self) -> String {
        show(self.numerator)
    }
    /// The denominator as written in a file: the number, or `[REDACTED]`.
    pub fn denominator_text(&self) -> String {
        show(self.denominator)
    }
    /// The rate as written in a file: empty when redacted or undefined.
    pub fn rate_text(&self) -> &str {
        self.rate.as_deref().unwrap_or("")
    }
}

/// `100 × num / den` with two decimals, rounded half up; empty when `den` is 0.
pub fn format_rate(num: u64, den: u64) -> String {
    if den == 0 {
        return String::new();
    }
    let hundredths = (20_000 * num as u128 + den as u128) / (2 * den as u128);
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

impl Results {
    fn dp(&self, d: usize, p: usize) -> usize {
        d * self.practices.len() + p
    }

    /// Numerator and denominator for one index date, practice and measure.
    pub fn count(&self, d: usize, p: usize, m: usize) -> (u64, u64) {
        let k = self.dp(d, p) * self.measures.len() + m;
        (self.numerators[k], self.denominators[k])
    }

    /// Whether a practice has any population patient at a date (gets summary rows).
    pub fn practice_listed(&self, d: usize, p: usize) -> bool {
        self.population[self.dp(d, p)] > 0
    }

    /// Totals over all practices for one date and measure.
    pub fn total(&self, d: usize, m: usize) -> (u64, u64) {
        (0..self.practices.len())
            .map(|p| self.count(d, p, m))
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    }

    pub fn write_summary(&self, w: &mut dyn Write, s: Suppression) -> io::Result<()> {
        writeln!(
            w,
            "index_date,practice_pseudo_id,measure,numerator,denominator,rate"
        )?;
        for (d, &day) in self.index_dates.iter().enumerate() {
            let date = dates::format_iso(day);
            for (p, practice) in self.practices.iter().enumerate() {
                if !self.practice_listed(d, p) {
                    continue;
                }
                for (m, id) in self.measures.iter().enumerate() {
                    let (num, den) = self.count(d, p, m);
                    let shown = s.ratio(num, den);
                    writeln!(
                        w,
                        "{date},{},{id},{},{},{}",
                        csv_field(practice),
                        shown.numerator_text(),
                        shown.denominator_text(),
                        shown.rate_text()
                    )?;
                }
            }
        }
        Ok(())
    }

    pub fn write_patients(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(
            w,
            "index_date,patient_id,practice_pseudo_id,measure,numerator"
        )?;
        let dates: Vec<String> = self
            .index_dates
            .iter()
            .map(|&d| dates::format_iso(d))
            .collect();
        let practices: Vec<String> = self.practices.iter().map(|p| csv_field(p)).collect();
        for r in &self.patient_rows {
            writeln!(
                w,
                "{},{},{},{},{}",
                dates[r.date as usize],
                self.patient_ids[r.patient as usize],
                practices[r.practice as usize],
                self.measures[r.measure as usize],
                r.numerator
            )?;
        }
        Ok(())
    }

    pub fn write_composites(&self, w: &mut dyn Write, s: Suppression) -> io::Result<()> {
        writeln!(
            w,
            "index_date,practice_pseudo_id,composite,denominator,n_numerators,patients"
        )?;
        let nc = self.composites.len();
        for (d, &day) in self.index_dates.iter().enumerate() {
            let date = dates::format_iso(day);
            for (p, practice) in self.practices.iter().enumerate() {
                if !self.practice_listed(d, p) {
                    continue;
                }
                for (c, (id, members)) in self.composites.iter().enumerate() {
                    let k = self.dp(d, p) * nc + c;
                    let den = show(s.apply(self.composite_denominators[k]));
                    for n in 1..=*members {
                        let count = self.composite_histogram[k * (self.max_members + 1) + n];
                        writeln!(
                            w,
                            "{date},{},{id},{den},{n},{}",
                            csv_field(practice),
                            show(s.apply(count))
                        )?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// A count as written in a file: the number, or `[REDACTED]`.
pub fn show(v: Option<u64>) -> String {
    v.map_or_else(|| "[REDACTED]".to_string(), |n| n.to_string())
}

/// Quote a field if it needs it.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_round_half_up() {
        assert_eq!(format_rate(1, 3), "33.33");
        assert_eq!(format_rate(2, 3), "66.67");
        assert_eq!(format_rate(1, 32), "3.13"); // 3.125
        assert_eq!(format_rate(0, 5), "0.00");
        assert_eq!(format_rate(5, 5), "100.00");
        assert_eq!(format_rate(0, 0), "");
    }

    #[test]
    fn suppression_redacts_small_and_rounds_to_five() {
        let s = Suppression::Redact7Round5;
        assert_eq!(s.apply(0), None);
        assert_eq!(s.apply(7), None);
        assert_eq!(s.apply(8), Some(10));
        assert_eq!(s.apply(12), Some(10));
        assert_eq!(s.apply(13), Some(15));
        assert_eq!(Suppression::None.apply(3), Some(3));
    }

    #[test]
    fn suppressed_rates_come_from_the_shown_counts() {
        let s = Suppression::Redact7Round5;
        // The example: 11/161 is 6.83%, but the file shows 10 and 160, so 6.25.
        let shown = s.ratio(11, 161);
        assert_eq!((shown.numerator, shown.denominator), (Some(10), Some(160)));
        assert_eq!(shown.rate_text(), "6.25");
        // Either count redacted: no rate.
        assert_eq!(s.ratio(5, 161).rate, None);
        assert_eq!(s.ratio(9, 7).rate, None);
        // Without suppression the exact rate.
        assert_eq!(Suppression::None.ratio(11, 161).rate_text(), "6.83");
    }
}
