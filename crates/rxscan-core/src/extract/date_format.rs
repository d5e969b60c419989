//! How a table writes its dates: ISO (`2021-08-14`, the contract's default) or a `date_format`
//! a column mapping declares in chrono's strftime syntax (`%d/%m/%Y`). Either way a time of day
//! after the date (`2021-08-14 09:30`, `14/08/2021T09:30:00Z`) is dropped: INDICATORS.md §1
//! compares calendar days.
//!
//! A format is checked once, when the mapping is read ([`DateFormat::new`]: it must print and
//! read back a day), so a value that does not match it is a bad value, named with the format.

use std::sync::Arc;

use chrono::format::{Item, StrftimeItems};
use chrono::{Datelike, NaiveDate};

use crate::dates::{self, Day};

/// A table's date format.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DateFormat {
    /// `YYYY-MM-DD`, strictly (the fast paths parse it by hand).
    #[default]
    Iso,
    /// A chrono strftime format.
    Strftime(Arc<str>),
}

impl DateFormat {
    /// The format a mapping declares, or why it cannot be one.
    pub fn new(format: &str) -> Result<DateFormat, String> {
        if format == "%Y-%m-%d" {
            return Ok(DateFormat::Iso);
        }
        if StrftimeItems::new(format).any(|i| matches!(i, Item::Error)) {
            return Err(format!(
                "`{format}` is not a valid chrono strftime format (a `%` followed by a letter it does not know?)"
            ));
        }
        let sample = NaiveDate::from_ymd_opt(2021, 8, 14).expect("a real day");
        let mut text = String::new();
        use std::fmt::Write as _;
        if write!(text, "{}", sample.format(format)).is_err() {
            return Err(format!("`{format}` cannot write a date"));
        }
        let back = NaiveDate::parse_and_remainder(&text, format);
        if !matches!(back, Ok((d, "")) if d == sample) {
            return Err(format!(
                "`{format}` does not read back the day it writes (2021-08-14 → `{text}`): it needs a year (%Y), a month (%m or %b) and a day (%d)"
            ));
        }
        Ok(DateFormat::Strftime(format.into()))
    }

    /// The day `s` names, a time of day after it dropped; `None` if it is not a date in this
    /// format.
    #[inline]
    pub fn parse(&self, s: &str) -> Option<Day> {
        match self {
            DateFormat::Iso => dates::parse_iso_day(s),
            DateFormat::Strftime(f) => {
                let (d, rest) = NaiveDate::parse_and_remainder(s, f).ok()?;
                if !(rest.is_empty() || dates::is_time_suffix(rest.as_bytes())) {
                    return None;
                }
                dates::from_ymd(d.year(), d.month(), d.day())
            }
        }
    }

    /// What a value was expected to be, for messages.
    pub fn expected(&self, optional: bool) -> String {
        let what = match self {
            DateFormat::Iso => "a date as YYYY-MM-DD".to_string(),
            DateFormat::Strftime(f) => format!("a date in the mapping's date_format `{f}`"),
        };
        if optional {
            format!("{what}, or empty")
        } else {
            what
        }
    }

    pub fn is_iso(&self) -> bool {
        *self == DateFormat::Iso
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_checked_once_and_parse_days() {
        let day = dates::parse_iso("2021-08-14");
        let uk = DateFormat::new("%d/%m/%Y").expect("valid");
        assert_eq!(uk.parse("14/08/2021"), day);
        assert_eq!(uk.parse("14/08/2021 09:30"), day);
        assert_eq!(uk.parse("2021-08-14"), None);
        assert_eq!(uk.parse("31/02/2021"), None);
        let emis = DateFormat::new("%d-%b-%Y").expect("valid");
        assert_eq!(emis.parse("14-Aug-2021"), day);
        assert_eq!(DateFormat::new("%Y-%m-%d"), Ok(DateFormat::Iso));
        assert!(DateFormat::new("%d/%m").is_err(), "no year");
        assert!(DateFormat::new("%d/%q/%Y").is_err(), "unknown specifier");
    }
}
