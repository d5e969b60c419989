//! Index dates, parsed and checked once.
//!
//! The measures are monthly (INDICATORS.md §2.1): an index date given by a user is the 1st of a
//! month, so month arithmetic from it never meets a missing day. [`IndexDates::parse`] and
//! [`IndexDates::monthly`] hold to that rule, for every way a user gives dates. A library
//! caller that means another day (to reproduce cohort-extractor's "no such date" error, as the
//! property tests do) says so with [`IndexDates::any_days`]; the evaluator then refuses a date
//! whose window ends are not calendar days.

use crate::dates::{self, Day};

/// Why index dates were refused. The caller (the command line) adds its flag names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DateError {
    #[error("{text:?}: expected a date as YYYY-MM-DD (zero padded, a real calendar day)")]
    NotADate { text: String },
    #[error(
        "{text}: index dates are the 1st of a month (the measures are monthly); use e.g. {first}"
    )]
    NotFirstOfMonth { text: String, first: String },
    #[error("the series ends ({to}) before it starts ({from})")]
    EndsBeforeStart { from: String, to: String },
    #[error("no index date given")]
    Empty,
}

/// Which of a caller's date texts was refused ([`IndexDates::from_text`]), so that a command
/// line can name the flag it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DatesError {
    /// One of the single index dates.
    #[error("index date {0}")]
    Date(DateError),
    /// The first date of the series.
    #[error("series start {0}")]
    From(DateError),
    /// The last date of the series.
    #[error("series end {0}")]
    To(DateError),
    /// The series as a whole (it ends before it starts).
    #[error("series {from} to {to}: {error}")]
    Series {
        from: String,
        to: String,
        error: DateError,
    },
    /// No date at all.
    #[error("no index date given")]
    Empty,
}

/// `day` (written `text` by the caller), if it is the 1st of its month.
fn first_of_month(day: Day, text: &str) -> Result<Day, DateError> {
    if dates::to_ymd(day).2 == 1 {
        return Ok(day);
    }
    Err(DateError::NotFirstOfMonth {
        text: text.to_string(),
        first: format!("{}01", &dates::format_iso(day)[..8]),
    })
}

/// One or more index dates: sorted, without repeats, never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDates(Vec<Day>);

impl IndexDates {
    /// One index date from `YYYY-MM-DD` text: a calendar day, the 1st of its month.
    pub fn parse(text: &str) -> Result<Day, DateError> {
        let day = dates::parse_iso(text).ok_or_else(|| DateError::NotADate {
            text: text.to_string(),
        })?;
        first_of_month(day, text)
    }

    /// The given dates (each the 1st of a month), sorted and without repeats.
    pub fn of(days: impl IntoIterator<Item = Day>) -> Result<IndexDates, DateError> {
        let days: Vec<Day> = days.into_iter().collect();
        for &d in &days {
            first_of_month(d, &dates::format_iso(d))?;
        }
        Self::any_days(days)
    }

    /// Every 1st of the month from `from` to `to`, inclusive.
    pub fn monthly(from: Day, to: Day) -> Result<IndexDates, DateError> {
        Self::of([from, to])?;
        if to < from {
            return Err(DateError::EndsBeforeStart {
                from: dates::format_iso(from),
                to: dates::format_iso(to),
            });
        }
        Self::any_days(dates::monthly_series(from, to))
    }

    /// The index dates a person gave as text: single dates and a monthly series `(from, to)`
    /// (inclusive), together; each the 1st of a month. The error says which text failed.
    pub fn from_text(
        dates: &[String],
        series: Option<(&str, &str)>,
    ) -> Result<IndexDates, DatesError> {
        let mut days = Vec::new();
        for text in dates {
            days.push(Self::parse(text).map_err(DatesError::Date)?);
        }
        let mut all = IndexDates::of(days).ok();
        if let Some((from, to)) = series {
            let first = Self::parse(from).map_err(DatesError::From)?;
            let last = Self::parse(to).map_err(DatesError::To)?;
            let series = Self::monthly(first, last).map_err(|error| DatesError::Series {
                from: from.to_string(),
                to: to.to_string(),
                error,
            })?;
            all = Some(match all {
                Some(d) => d.union(&series),
                None => series,
            });
        }
        all.ok_or(DatesError::Empty)
    }

    /// These dates with any day of the month (for callers that mean it; see the module doc).
    pub fn any_days(days: impl IntoIterator<Item = Day>) -> Result<IndexDates, DateError> {
        let mut days: Vec<Day> = days.into_iter().collect();
        if days.is_empty() {
            return Err(DateError::Empty);
        }
        days.sort_unstable();
        days.dedup();
        Ok(IndexDates(days))
    }

    /// These dates and `other`'s together.
    pub fn union(&self, other: &IndexDates) -> IndexDates {
        IndexDates::any_days(self.0.iter().chain(&other.0).copied()).expect("not empty")
    }

    pub fn days(&self) -> &[Day] {
        &self.0
    }
    pub fn first(&self) -> Day {
        self.0[0]
    }
    pub fn last(&self) -> Day {
        self.0[self.0.len() - 1]
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Never true: an `IndexDates` holds at least one date.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Day {
        dates::parse_iso(s).unwrap()
    }

    #[test]
    fn user_dates_are_the_first_of_a_month() {
        assert_eq!(IndexDates::parse("2020-03-01"), Ok(day("2020-03-01")));
        assert_eq!(
            IndexDates::parse("2020-03-15").unwrap_err().to_string(),
            "2020-03-15: index dates are the 1st of a month (the measures are monthly); use e.g. 2020-03-01"
        );
        assert!(matches!(
            IndexDates::parse("2020-02-30"),
            Err(DateError::NotADate { .. })
        ));
        assert!(IndexDates::of([day("2020-01-31")]).is_err());
        assert!(IndexDates::monthly(day("2019-10-15"), day("2020-03-01")).is_err());
        assert!(IndexDates::monthly(day("2019-10-01"), day("2020-03-31")).is_err());
    }

    #[test]
    fn dates_are_sorted_without_repeats() {
        let d = IndexDates::of([day("2020-04-01"), day("2020-03-01"), day("2020-04-01")]).unwrap();
        assert_eq!(d.days(), &[day("2020-03-01"), day("2020-04-01")]);
        assert_eq!(
            (d.first(), d.last(), d.len()),
            (day("2020-03-01"), day("2020-04-01"), 2)
        );
        assert_eq!(IndexDates::of([]), Err(DateError::Empty));
    }

    #[test]
    fn dates_from_text_say_which_text_failed() {
        let texts = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // Two single dates and a three-month series overlapping one of them: four dates.
        let d = IndexDates::from_text(
            &texts(&["2020-06-01", "2020-01-01"]),
            Some(("2019-12-01", "2020-02-01")),
        )
        .unwrap();
        let want = ["2019-12-01", "2020-01-01", "2020-02-01", "2020-06-01"].map(day);
        assert_eq!(d.days(), &want);
        assert_eq!(
            IndexDates::from_text(&[], Some(("2020-01-01", "2020-01-01")))
                .unwrap()
                .days(),
            &[day("2020-01-01")]
        );
        let err =
            |dates: &[&str], series| IndexDates::from_text(&texts(dates), series).unwrap_err();
        assert!(matches!(
            err(&["2020-01-02"], None),
            DatesError::Date(DateError::NotFirstOfMonth { .. })
        ));
        assert!(matches!(
            err(&[], Some(("x", "2020-01-01"))),
            DatesError::From(DateError::NotADate { .. })
        ));
        assert!(matches!(
            err(&[], Some(("2020-01-01", "2020-01-31"))),
            DatesError::To(_)
        ));
        assert_eq!(
            err(&["2020-01-01"], Some(("2020-03-01", "2020-02-01"))).to_string(),
            "series 2020-03-01 to 2020-02-01: the series ends (2020-02-01) before it starts (2020-03-01)"
        );
        assert_eq!(err(&[], None), DatesError::Empty);
    }

    #[test]
    fn a_monthly_series_includes_both_ends() {
        let d = IndexDates::monthly(day("2019-11-01"), day("2020-02-01")).unwrap();
        assert_eq!(d.len(), 4);
        assert_eq!(d.last(), day("2020-02-01"));
        assert_eq!(
            IndexDates::monthly(day("2020-02-01"), day("2019-11-01")),
            Err(DateError::EndsBeforeStart {
                from: "2020-02-01".into(),
                to: "2019-11-01".into()
            })
        );
    }
}
