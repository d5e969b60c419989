//! Stage: results. One result model, [`Results`]: counts per index date, practice and
//! measure; composite histograms; optional per-patient rows; and what renderers need to name
//! things (each measure's id, PRIMIS code and title). Every output format renders from it
//! (`crate::output`), so the files cannot disagree with each other. Rates are computed with
//! integer arithmetic (round half up to 2 decimals) so they are the same on every platform,
//! and suppression ([`Suppression`]) is applied in one place. The comparison of practices
//! with the total (Wilson intervals, funnel limits) is [`compare`].

pub mod compare;

mod merge;

pub use merge::merge;

use crate::dates::Day;

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

/// A measure as renderers name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasureInfo {
    pub id: String,
    pub primis: String,
    pub title: String,
    /// The measure's documentation as written in its rule (What it flags / Why it matters /
    /// Definition / References), for the report.
    pub doc: String,
}

#[derive(Debug, Clone)]
pub struct Results {
    pub index_dates: Vec<Day>,
    pub practices: Vec<String>,
    /// Measure ids, in pack order.
    pub measures: Vec<String>,
    /// Each measure's id, PRIMIS code and title (the same order as `measures`).
    pub measure_info: Vec<MeasureInfo>,
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

    /// Every (date index, practice index) with a population patient, in output order: the
    /// rows the aggregate files list.
    pub fn listed(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        (0..self.index_dates.len()).flat_map(move |d| {
            (0..self.practices.len())
                .filter(move |&p| self.practice_listed(d, p))
                .map(move |p| (d, p))
        })
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

    /// One composite at one index date and practice: its denominator, and the number of
    /// patients with exactly n member numerators true for n = 1 to its number of members.
    pub fn composite(&self, d: usize, p: usize, c: usize) -> (u64, &[u64]) {
        let k = self.dp(d, p) * self.composites.len() + c;
        let members = self.composites[c].1;
        let start = k * (self.max_members + 1);
        (
            self.composite_denominators[k],
            &self.composite_histogram[start + 1..=start + members],
        )
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
