//! Dates in a test file: absolute (`2020-03-01`, or `1950-06` for a date of birth, meaning the
//! 1st) or relative to the patient's index date (`I`, `I-3m`, `I+1d`, `I-3m-1d`, `I-65y`).
//!
//! Relative dates are what a rule author thinks in ("the day before the window opens"), and
//! they move with the index date. Steps apply left to right with the rule language's own month
//! arithmetic ([`dates::add_months`]: the day of the month is kept, an impossible day is an
//! error), so `I-3m` is exactly the first day of the window `[index - 3 months, index]`.

use crate::dates::{self, Day};

/// A date as written, before the index date is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    /// A calendar day.
    Day(Day),
    /// The index date moved by each step in turn.
    Relative(Vec<Step>),
}

/// One `+N unit` or `-N unit` of a relative date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Days(i32),
    Months(i32),
}

impl When {
    /// Parse `text`; `month_ok` accepts `YYYY-MM` (the 1st of that month), as dates of birth
    /// are often given. The error says what was expected.
    pub fn parse(text: &str, month_ok: bool) -> Result<When, String> {
        let t = text.trim();
        if let Some(rest) = t.strip_prefix('I') {
            return relative(rest).map(When::Relative);
        }
        if let Some(d) = dates::parse_iso(t) {
            return Ok(When::Day(d));
        }
        if month_ok && t.len() == 7 {
            if let Some(d) = dates::parse_iso(&format!("{t}-01")) {
                return Ok(When::Day(d));
            }
        }
        let forms = if month_ok {
            "YYYY-MM-DD, YYYY-MM"
        } else {
            "YYYY-MM-DD"
        };
        Err(format!(
            "`{t}` is not a date: write {forms}, or a date relative to the index date such as `I`, `I-3m`, `I-1d`, `I-3m-1d`, `I-65y`"
        ))
    }

    /// The calendar day at index date `index`; `None` when month arithmetic lands on a day that
    /// does not exist (31 May − 3 months) or leaves the supported years.
    pub fn at(&self, index: Day) -> Option<Day> {
        match self {
            When::Day(d) => Some(*d),
            When::Relative(steps) => steps.iter().try_fold(index, |d, s| match *s {
                Step::Days(n) => {
                    let out = d.checked_add(n)?;
                    let (y, _, _) = dates::to_ymd(out);
                    (dates::MIN_YEAR..=dates::MAX_YEAR)
                        .contains(&y)
                        .then_some(out)
                }
                Step::Months(n) => dates::add_months(d, n),
            }),
        }
    }
}

/// The steps after the `I`: each a sign, digits and a unit (`d`ays, `w`eeks, `m`onths,
/// `y`ears); spaces between them are allowed.
fn relative(rest: &str) -> Result<Vec<Step>, String> {
    let bad = |why: &str| {
        Err(format!(
            "`I{rest}`: {why}; write steps like `I-3m`, `I+1d`, `I-3m-1d` (units d, w, m, y)"
        ))
    };
    let mut steps = Vec::new();
    let mut chars = rest.chars().filter(|c| !c.is_whitespace()).peekable();
    while let Some(sign) = chars.next() {
        let sign = match sign {
            '+' => 1,
            '-' => -1,
            _ => return bad("expected `+` or `-` after `I`"),
        };
        let mut n: i64 = 0;
        let mut digits = 0;
        while let Some(c) = chars.peek().and_then(|c| c.to_digit(10)) {
            n = n * 10 + c as i64;
            digits += 1;
            chars.next();
            if n > 1_000_000 {
                return bad("the number is too large");
            }
        }
        if digits == 0 {
            return bad("expected a number after the sign");
        }
        let n = (sign * n) as i32;
        let unit = match chars.peek() {
            Some(&u @ ('d' | 'w' | 'm' | 'y')) => {
                chars.next();
                u
            }
            // `I+0` is the index date itself, written with a step for symmetry.
            None | Some('+' | '-') if n == 0 => 'd',
            _ => return bad("expected a unit (d, w, m or y) after the number"),
        };
        steps.push(match unit {
            'd' => Step::Days(n),
            'w' => Step::Days(n * 7),
            'm' => Step::Months(n),
            _ => Step::Months(n * 12),
        });
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, index: &str) -> Option<String> {
        let w = When::parse(text, true).unwrap();
        w.at(dates::parse_iso(index).unwrap())
            .map(dates::format_iso)
    }

    #[test]
    fn relative_dates_step_from_the_index_date() {
        let i = "2020-03-01";
        assert_eq!(at("I", i).as_deref(), Some("2020-03-01"));
        assert_eq!(at("I+0", i).as_deref(), Some("2020-03-01"));
        assert_eq!(at("I-3m", i).as_deref(), Some("2019-12-01"));
        assert_eq!(at("I-1d", i).as_deref(), Some("2020-02-29")); // leap year
        assert_eq!(at("I-3m-1d", i).as_deref(), Some("2019-11-30"));
        assert_eq!(at("I - 2w", i).as_deref(), Some("2020-02-16"));
        assert_eq!(at("I-65y", i).as_deref(), Some("1955-03-01"));
        assert_eq!(at("I+1d", i).as_deref(), Some("2020-03-02"));
        assert_eq!(at("1950-06", i).as_deref(), Some("1950-06-01"));
        assert_eq!(at("2019-07-04", i).as_deref(), Some("2019-07-04"));
        // Month arithmetic keeps the day: 31 May - 3 months does not exist.
        assert_eq!(at("I-3m", "2020-05-31"), None);
    }

    #[test]
    fn malformed_dates_say_what_was_expected() {
        for bad in [
            "I-3",
            "I+0x",
            "I-m",
            "I*3m",
            "I-3q",
            "2020-13-01",
            "yesterday",
            "2020-02-30",
        ] {
            let e = When::parse(bad, false).unwrap_err();
            assert!(e.contains("I-3m"), "{bad}: {e}");
        }
        assert!(When::parse("1950-06", false).is_err());
    }
}
