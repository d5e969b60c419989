//! Comparison across practices: each practice's rate with a Wilson 95% interval, the total
//! over all scanned practices, and where the practice falls on a funnel plot around that total.
//! `practices.csv` and the report render from one [`Comparison`], so they cannot disagree.
//!
//! The statistics are the ones a PCN lead already reads (Spiegelhalter's funnel plots, as in
//! the PHE/OHID fingertips tools and OpenSAFELY's practice comparisons):
//! - **Wilson score interval** for a proportion: it stays inside [0, 1] and is sensible at
//!   0/n and n/n, where the normal ("Wald") interval collapses to a point.
//! - **Funnel limits** by the normal approximation to the binomial: `p0 ± z·√(p0(1−p0)/n)`
//!   around the total rate `p0` (all scanned practices, the practice itself included), at the
//!   practice's denominator `n`, with z = 1.959964 (95%) and z = 3.090232 (99.8%), clipped to
//!   [0, 1]. A rate on a limit is inside it.
//!
//! Under suppression every statistic is computed from the *shown* counts (rounded to 5), and
//! is absent when a count it needs is redacted: what is published can be recomputed from the
//! published counts and says nothing more about the exact ones.

use super::{Results, Shown, Suppression};

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959964;
/// z for a two-sided 99.8% interval.
pub const Z998: f64 = 3.090232;

/// An interval of proportions (0 to 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// The Wilson score interval for `num` successes in `den` trials at `z`; `None` when `den` is 0.
/// The ends are exactly 0 at `num` = 0 and exactly 1 at `num` = `den`.
pub fn wilson(num: u64, den: u64, z: f64) -> Option<Interval> {
    if den == 0 || num > den {
        return None;
    }
    let (n, p, z2) = (den as f64, num as f64 / den as f64, z * z);
    let scale = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / scale;
    let half = z / scale * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(Interval {
        low: if num == 0 {
            0.0
        } else {
            (centre - half).max(0.0)
        },
        high: if num == den {
            1.0
        } else {
            (centre + half).min(1.0)
        },
    })
}

/// The funnel-plot control limits around the total rate `p0` at denominator `n`:
/// `p0 ± z·√(p0(1−p0)/n)`, clipped to [0, 1]; `None` when `n` is 0.
pub fn funnel_limits(p0: f64, n: u64, z: f64) -> Option<Interval> {
    if n == 0 {
        return None;
    }
    let half = z * (p0 * (1.0 - p0) / n as f64).sqrt();
    Some(Interval {
        low: (p0 - half).max(0.0),
        high: (p0 + half).min(1.0),
    })
}

/// Where a practice falls on the funnel plot around the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Position {
    Below998,
    Below95,
    Inside,
    Above95,
    Above998,
}

impl Position {
    /// As written in `practices.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Position::Below998 => "below_99.8",
            Position::Below95 => "below_95",
            Position::Inside => "inside",
            Position::Above95 => "above_95",
            Position::Above998 => "above_99.8",
        }
    }

    /// In words, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Position::Below998 => "below the 99.8% limit",
            Position::Below95 => "below the 95% limit",
            Position::Inside => "inside the limits",
            Position::Above95 => "above the 95% limit",
            Position::Above998 => "above the 99.8% limit",
        }
    }
}

/// The position of `num`/`den` on the funnel around `p0`; `None` when `den` is 0.
pub fn position(num: u64, den: u64, p0: f64) -> Option<Position> {
    let (l95, l998) = (funnel_limits(p0, den, Z95)?, funnel_limits(p0, den, Z998)?);
    let p = num as f64 / den as f64;
    Some(if p > l998.high {
        Position::Above998
    } else if p > l95.high {
        Position::Above95
    } else if p < l998.low {
        Position::Below998
    } else if p < l95.low {
        Position::Below95
    } else {
        Position::Inside
    })
}

/// One practice (or the total) for one index date and measure, as it may be shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// The counts and rate after suppression.
    pub shown: Shown,
    /// Wilson 95% interval of the shown counts.
    pub wilson: Option<Interval>,
    /// The total's rate (the funnel's centre), from the total's shown counts.
    pub p0: Option<f64>,
    /// Funnel limits around `p0` at the shown denominator (none for the total itself).
    pub limits95: Option<Interval>,
    pub limits998: Option<Interval>,
    pub position: Option<Position>,
}

impl Cell {
    /// The shown counts when both are shown and the denominator is not 0.
    pub fn counts(&self) -> Option<(u64, u64)> {
        match (self.shown.numerator, self.shown.denominator) {
            (Some(n), Some(d)) if d > 0 => Some((n, d)),
            _ => None,
        }
    }

    /// The shown rate as a proportion, when there is one.
    pub fn proportion(&self) -> Option<f64> {
        self.counts().map(|(n, d)| n as f64 / d as f64)
    }
}

/// Every practice listed at each index date against the total, for every measure.
#[derive(Debug, Clone)]
pub struct Comparison {
    n_practices: usize,
    n_measures: usize,
    /// `[date][practice, then the total][measure]`; `None` for a practice not listed.
    cells: Vec<Option<Cell>>,
}

impl Comparison {
    /// Compare every listed practice with the total over all practices, under `s`.
    pub fn of(r: &Results, s: Suppression) -> Comparison {
        let (n_practices, n_measures) = (r.practices.len(), r.measures.len());
        let mut cells = Vec::with_capacity(r.index_dates.len() * (n_practices + 1) * n_measures);
        for d in 0..r.index_dates.len() {
            let totals: Vec<Cell> = (0..n_measures)
                .map(|m| {
                    let (num, den) = r.total(d, m);
                    cell(s.ratio(num, den), None)
                })
                .collect();
            for p in 0..n_practices {
                for (m, total) in totals.iter().enumerate() {
                    cells.push(r.practice_listed(d, p).then(|| {
                        let (num, den) = r.count(d, p, m);
                        cell(s.ratio(num, den), Some(total))
                    }));
                }
            }
            cells.extend(totals.into_iter().map(Some));
        }
        Comparison {
            n_practices,
            n_measures,
            cells,
        }
    }

    /// A practice's cell (`Some(p)`), or the total's (`None`); `None` when the practice has no
    /// population patient at that date.
    pub fn cell(&self, d: usize, practice: Option<usize>, m: usize) -> Option<&Cell> {
        let p = practice.unwrap_or(self.n_practices);
        self.cells[(d * (self.n_practices + 1) + p) * self.n_measures + m].as_ref()
    }
}

/// A cell from the shown counts; `total` is the total's cell, or `None` for the total itself.
fn cell(shown: Shown, total: Option<&Cell>) -> Cell {
    let mut c = Cell {
        shown,
        wilson: None,
        p0: None,
        limits95: None,
        limits998: None,
        position: None,
    };
    let counts = c.counts();
    c.wilson = counts.and_then(|(n, d)| wilson(n, d, Z95));
    if let Some(total) = total {
        c.p0 = total.proportion();
        if let (Some(p0), Some(d)) = (c.p0, c.shown.denominator) {
            c.limits95 = funnel_limits(p0, d, Z95);
            c.limits998 = funnel_limits(p0, d, Z998);
            c.position = counts.and_then(|(n, d)| position(n, d, p0));
        }
    } else {
        c.p0 = c.proportion();
    }
    c
}

/// A proportion as a percentage with 2 decimals (as `rate` is written).
pub fn percent(x: f64) -> String {
    format!("{:.2}", 100.0 * x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 5e-6
    }

    #[test]
    fn wilson_intervals_worked_by_hand() {
        // z = 1.959964, z² = 3.841459 (to 7 figures).
        // 5/10: p = 0.5, 1 + z²/n = 1.3841459; centre = (0.5 + z²/20) / 1.3841459
        //   = 0.6920729 / 1.3841459 = 0.5; half = z / 1.3841459 × √(0.25/10 + z²/400)
        //   = 1.4160097 × √0.0346036 = 1.4160097 × 0.1860204 = 0.2634069
        //   → [0.2365931, 0.7634069] (the textbook 23.7% to 76.3%).
        let i = wilson(5, 10, Z95).unwrap();
        assert!(close(i.low, 0.236593) && close(i.high, 0.763407), "{i:?}");
        // 0/10: the centre and half-width are both (z²/20) / 1.3841459, so the low end is 0
        //   and the high end is z²/(n + z²) = 3.841459 / 13.841459 = 0.2775326.
        let i = wilson(0, 10, Z95).unwrap();
        assert_eq!(i.low, 0.0);
        assert!(close(i.high, 0.277533), "{i:?}");
        // 10/10: the mirror image: [n/(n + z²), 1] = [10 / 13.841459, 1] = [0.7224674, 1].
        let i = wilson(10, 10, Z95).unwrap();
        assert!(close(i.low, 0.722467), "{i:?}");
        assert_eq!(i.high, 1.0);
        // 1/1: [1/(1 + z²), 1] = [1 / 4.841459, 1] = [0.2065494, 1].
        let i = wilson(1, 1, Z95).unwrap();
        assert!(close(i.low, 0.206549), "{i:?}");
        // 1/4: p = 0.25, 1 + z²/4 = 1.9603648; centre = (0.25 + z²/8) / 1.9603648
        //   = 0.7301824 / 1.9603648 = 0.3724725; half = z / 1.9603648 × √(0.1875/4 + z²/64)
        //   = 0.9997955 × √(0.046875 + 0.0600228) = 0.9997955 × 0.3269523 = 0.3268854
        //   → [0.0455871, 0.6993579].
        let i = wilson(1, 4, Z95).unwrap();
        assert!(close(i.low, 0.045587) && close(i.high, 0.699358), "{i:?}");
        // No denominator: no interval.
        assert_eq!(wilson(0, 0, Z95), None);
    }

    #[test]
    fn funnel_limits_worked_by_hand() {
        // p0 = 0.1, n = 100: √(0.1 × 0.9 / 100) = √0.0009 = 0.03.
        // 95%: 0.1 ± 1.959964 × 0.03 = 0.1 ± 0.05879892 → [0.04120108, 0.15879892].
        // 99.8%: 0.1 ± 3.090232 × 0.03 = 0.1 ± 0.09270696 → [0.00729304, 0.19270696].
        let l = funnel_limits(0.1, 100, Z95).unwrap();
        assert!(close(l.low, 0.041201) && close(l.high, 0.158799), "{l:?}");
        let l = funnel_limits(0.1, 100, Z998).unwrap();
        assert!(close(l.low, 0.007293) && close(l.high, 0.192707), "{l:?}");
        // So, out of 100: 15 inside; 16 (0.16 > 0.1588) above 95% only; 20 (> 0.1927) above
        // 99.8%; 4 (0.04 < 0.0412) below 95% only; 0 (< 0.0073) below 99.8%.
        assert_eq!(position(15, 100, 0.1), Some(Position::Inside));
        assert_eq!(position(10, 100, 0.1), Some(Position::Inside));
        assert_eq!(position(16, 100, 0.1), Some(Position::Above95));
        assert_eq!(position(19, 100, 0.1), Some(Position::Above95));
        assert_eq!(position(20, 100, 0.1), Some(Position::Above998));
        assert_eq!(position(5, 100, 0.1), Some(Position::Inside));
        assert_eq!(position(4, 100, 0.1), Some(Position::Below95));
        assert_eq!(position(1, 100, 0.1), Some(Position::Below95));
        assert_eq!(position(0, 100, 0.1), Some(Position::Below998));
        // p0 = 0.1, n = 4: √(0.09/4) = 0.15; 99.8%: 0.1 ± 0.4635348 → clipped to [0, 0.5635348];
        // 0/4 is on the clipped lower limit, so inside; 3/4 = 0.75 is above it.
        let l = funnel_limits(0.1, 4, Z998).unwrap();
        assert!(l.low == 0.0 && close(l.high, 0.563535), "{l:?}");
        assert_eq!(position(0, 4, 0.1), Some(Position::Inside));
        assert_eq!(position(3, 4, 0.1), Some(Position::Above998));
    }

    #[test]
    fn funnel_edge_cases() {
        // No denominator: no limits and no position.
        assert_eq!(funnel_limits(0.1, 0, Z95), None);
        assert_eq!(position(0, 0, 0.1), None);
        // A total of 0 (or 1): the limits collapse onto it; a practice at it is inside.
        assert_eq!(
            funnel_limits(0.0, 50, Z95),
            Some(Interval {
                low: 0.0,
                high: 0.0
            })
        );
        assert_eq!(position(0, 50, 0.0), Some(Position::Inside));
        assert_eq!(position(50, 50, 1.0), Some(Position::Inside));
        // num = den against a total of 0.5 at n = 4: √(0.25/4) = 0.25; 95%: 0.5 ± 0.489991 →
        // [0.010009, 0.989991], so 4/4 is above it; 99.8%: 0.5 ± 0.772558 → [0, 1] after
        // clipping, and 4/4 on a limit is not above it.
        assert_eq!(position(4, 4, 0.5), Some(Position::Above95));
        assert_eq!(position(0, 4, 0.5), Some(Position::Below95));
    }

    fn results(counts: &[(u64, u64)], population: &[u64]) -> Results {
        Results {
            index_dates: vec![crate::dates::parse_iso("2020-03-01").unwrap()],
            practices: (0..counts.len()).map(|p| format!("P{p}")).collect(),
            measures: vec!["a".into()],
            measure_info: Vec::new(),
            composites: Vec::new(),
            max_members: 0,
            numerators: counts.iter().map(|c| c.0).collect(),
            denominators: counts.iter().map(|c| c.1).collect(),
            population: population.to_vec(),
            composite_denominators: Vec::new(),
            composite_histogram: Vec::new(),
            patient_rows: Vec::new(),
            patient_ids: Vec::new(),
        }
    }

    #[test]
    fn practices_are_compared_with_the_total() {
        // Totals: 30/300 = 0.1. P0 20/100 (above 99.8%, worked above), P1 10/200:
        // √(0.09/200) = 0.0212132; 95% low = 0.1 − 0.0415771 = 0.0584229 > 0.05, so below 95%;
        // 99.8% low = 0.1 − 0.0655537 = 0.0344463 < 0.05. P2 has no population: not listed.
        let r = results(&[(20, 100), (10, 200), (0, 0)], &[120, 230, 0]);
        let c = Comparison::of(&r, Suppression::None);
        let total = c.cell(0, None, 0).unwrap();
        assert_eq!(total.counts(), Some((30, 300)));
        assert_eq!(total.position, None);
        assert_eq!(
            c.cell(0, Some(0), 0).unwrap().position,
            Some(Position::Above998)
        );
        let p1 = c.cell(0, Some(1), 0).unwrap();
        assert_eq!(p1.position, Some(Position::Below95));
        assert_eq!(p1.p0, Some(0.1));
        assert!(close(p1.limits95.unwrap().low, 0.058423));
        assert!(c.cell(0, Some(2), 0).is_none());
    }

    #[test]
    fn under_suppression_everything_comes_from_the_shown_counts() {
        // P0 21/104 is shown as 20/105; P1 6/203 as [REDACTED]/205. The total 27/307 is shown
        // as 25/305, so p0 = 25/305 = 0.0819672.
        let r = results(&[(21, 104), (6, 203)], &[120, 230]);
        let c = Comparison::of(&r, Suppression::Redact7Round5);
        let total = c.cell(0, None, 0).unwrap();
        assert_eq!(total.counts(), Some((25, 305)));
        assert_eq!(total.wilson, wilson(25, 305, Z95));
        let p0 = c.cell(0, Some(0), 0).unwrap();
        assert_eq!(p0.counts(), Some((20, 105)));
        assert_eq!(p0.wilson, wilson(20, 105, Z95));
        assert_eq!(p0.p0, Some(25.0 / 305.0));
        assert_eq!(p0.limits95, funnel_limits(25.0 / 305.0, 105, Z95));
        assert_eq!(p0.position, position(20, 105, 25.0 / 305.0));
        // A redacted numerator: no interval and no position; the limits at the shown
        // denominator say nothing about the numerator.
        let p1 = c.cell(0, Some(1), 0).unwrap();
        assert_eq!((p1.wilson, p1.position), (None, None));
        assert_eq!(p1.shown.denominator, Some(205));
        // A redacted total: no centre, so no limits or positions for anyone.
        let r = results(&[(5, 104), (2, 203)], &[120, 230]);
        let c = Comparison::of(&r, Suppression::Redact7Round5);
        let p0 = c.cell(0, Some(0), 0).unwrap();
        assert_eq!((p0.p0, p0.limits95, p0.position), (None, None, None));
    }

    #[test]
    fn percentages_have_two_decimals() {
        assert_eq!(percent(0.236595), "23.66");
        assert_eq!(percent(0.0), "0.00");
        assert_eq!(percent(1.0), "100.00");
    }
}
