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
                    let (sn, sd) = (s.apply(num), s.apply(den));
                    let rate = match (sn, sd) {
                        (Some(_), Some(_)) => format_rate(num, den),
                        _ => String::new(),
                    };
                    writeln!(
                        w,
                        "{date},{},{id},{},{},{rate}",
                        csv_field(practice),
                        show(sn),
                        show(sd)
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

fn show(v: Option<u64>) -> String {
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
}
