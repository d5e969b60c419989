//! Calendar days as plain integers.
//!
//! Every date in rxscan is a `Day`: the number of days since 1970-01-01. Comparisons, window
//! bounds and the co-prescription gap are then integer operations in the hot loop. Parsing is
//! strict (`YYYY-MM-DD`, zero padded, a real calendar day) because a loose parser silently
//! moves records across a window boundary, which is exactly the bug this tool exists to avoid.
//! Month arithmetic follows cohort-extractor (INDICATORS.md §2.2): the day-of-month is kept and
//! a day that does not exist in the target month is an error, never clamped or rolled.

/// Days since 1970-01-01.
pub type Day = i32;

/// Earliest and latest years accepted anywhere (inputs, index dates, window arithmetic).
pub const MIN_YEAR: i32 = 1;
pub const MAX_YEAR: i32 = 9999;

/// Days from civil date (proleptic Gregorian), after Howard Hinnant's algorithm.
pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Day> {
    if !(MIN_YEAR..=MAX_YEAR).contains(&y)
        || !(1..=12).contains(&m)
        || d == 0
        || d > days_in_month(y, m)
    {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146097 + doe - 719468)
}

/// Civil date (year, month, day) of a day number.
pub fn to_ymd(day: Day) -> (i32, u32, u32) {
    let z = day + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

pub fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Parse a strict ISO date: exactly `YYYY-MM-DD`, digits zero padded, a real calendar day.
pub fn parse_iso(s: &str) -> Option<Day> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let mut v = 0u32;
        for &c in &b[r] {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + (c - b'0') as u32;
        }
        Some(v)
    };
    from_ymd(digits(0..4)? as i32, digits(5..7)?, digits(8..10)?)
}

/// Whether `s` is a time of day after a date, as exports write it (INDICATORS.md §1: dates are
/// compared as calendar days, any time of day is dropped): a space or `T`, then `HH:MM`,
/// optionally `:SS` and a fraction, optionally `Z` or an offset `±HH:MM` (or `±HHMM`). The
/// day is the one written: an offset does not move it.
pub fn is_time_suffix(s: &[u8]) -> bool {
    let two = |b: &[u8], at: usize, max: u8| {
        b.len() >= at + 2
            && b[at].is_ascii_digit()
            && b[at + 1].is_ascii_digit()
            && (b[at] - b'0') * 10 + (b[at + 1] - b'0') <= max
    };
    if s.len() < 6 || !(s[0] == b' ' || s[0] == b'T') || !two(s, 1, 23) || s[3] != b':' {
        return false;
    }
    if !two(s, 4, 59) {
        return false;
    }
    let mut at = 6;
    if s.get(at) == Some(&b':') {
        if !two(s, at + 1, 60) {
            return false;
        }
        at += 3;
        if s.get(at) == Some(&b'.') {
            at += 1;
            let digits = s[at..].iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                return false;
            }
            at += digits;
        }
    }
    match &s[at..] {
        [] | [b'Z'] => true,
        [b'+' | b'-', rest @ ..] => match rest.len() {
            5 => two(rest, 0, 23) && rest[2] == b':' && two(rest, 3, 59),
            4 => two(rest, 0, 23) && two(rest, 2, 59),
            2 => two(rest, 0, 23),
            _ => false,
        },
        _ => false,
    }
}

/// Parse a date as an extract writes it: [`parse_iso`], or an ISO date followed by a time of
/// day ([`is_time_suffix`]), which is dropped.
#[inline]
pub fn parse_iso_day(s: &str) -> Option<Day> {
    if s.len() == 10 {
        return parse_iso(s);
    }
    parse_iso_with_time(s)
}

/// [`parse_iso_day`]'s rarer half, kept out of line so the loaders' loops stay small.
#[cold]
#[inline(never)]
fn parse_iso_with_time(s: &str) -> Option<Day> {
    let b = s.as_bytes();
    if b.len() > 10 && is_time_suffix(&b[10..]) {
        return parse_iso(&s[..10]);
    }
    None
}

/// Format a day as `YYYY-MM-DD`.
pub fn format_iso(day: Day) -> String {
    let mut out = String::with_capacity(10);
    push_iso(&mut out, day);
    out
}

/// Append `day` as `YYYY-MM-DD` ([`format_iso`]'s text), digit by digit: evidence and the
/// patient lists write millions of dates, and the formatting machinery cost ten times as
/// much. Years outside 0..=9999 (never a date the loader accepts) are written in full.
pub fn push_iso(out: &mut String, day: Day) {
    let (y, m, d) = to_ymd(day);
    if !(0..=9999).contains(&y) {
        out.push_str(&format!("{y:04}-{m:02}-{d:02}"));
        return;
    }
    let digit = |n: u32| char::from(b'0' + (n % 10) as u8);
    let y = y as u32;
    for c in [y / 1000, y / 100, y / 10, y] {
        out.push(digit(c));
    }
    out.push('-');
    out.push(digit(m / 10));
    out.push(digit(m));
    out.push('-');
    out.push(digit(d / 10));
    out.push(digit(d));
}

/// Add a signed number of calendar months, keeping the day of the month.
/// `None` when the resulting day does not exist (31 May − 3 months) or leaves the year range.
pub fn add_months(day: Day, months: i32) -> Option<Day> {
    let (y, m, d) = to_ymd(day);
    let total = y as i64 * 12 + (m as i64 - 1) + months as i64;
    let ny = total.div_euclid(12);
    let nm = total.rem_euclid(12) as u32 + 1;
    if ny < MIN_YEAR as i64 || ny > MAX_YEAR as i64 {
        return None;
    }
    from_ymd(ny as i32, nm, d)
}

/// Completed years between a date of birth and a date (INDICATORS.md §2.6): a birthday on the
/// date counts.
pub fn age_years(dob: Day, at: Day) -> i32 {
    age_from_ymd(to_ymd(dob), to_ymd(at))
}

/// [`age_years`] from civil dates already split into (year, month, day): the evaluator
/// splits each index date and each date of birth once, not once per question.
#[inline]
pub fn age_from_ymd(dob: (i32, u32, u32), at: (i32, u32, u32)) -> i32 {
    at.0 - dob.0 - i32::from((at.1, at.2) < (dob.1, dob.2))
}

/// Every first of the month from `from` to `to`, inclusive. Both must be firsts of a month.
pub fn monthly_series(from: Day, to: Day) -> Vec<Day> {
    let mut out = Vec::new();
    let mut d = from;
    while d <= to {
        out.push(d);
        match add_months(d, 1) {
            Some(n) => d = n,
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_day_of_four_centuries() {
        let start = from_ymd(1900, 1, 1).unwrap();
        let end = from_ymd(2300, 12, 31).unwrap();
        let mut expect = (1900, 1, 1);
        for day in start..=end {
            assert_eq!(to_ymd(day), expect);
            assert_eq!(from_ymd(expect.0, expect.1, expect.2), Some(day));
            let (y, m, d) = expect;
            expect = if d < days_in_month(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
        assert_eq!(from_ymd(1970, 1, 1), Some(0));
    }

    #[test]
    fn iso_text_digit_by_digit() {
        for (y, m, d, text) in [
            (1, 1, 1, "0001-01-01"),
            (999, 12, 31, "0999-12-31"),
            (2020, 2, 29, "2020-02-29"),
            (2021, 10, 9, "2021-10-09"),
            (9999, 12, 31, "9999-12-31"),
        ] {
            let day = from_ymd(y, m, d).unwrap();
            assert_eq!(format_iso(day), text);
            assert_eq!(parse_iso(text), Some(day));
        }
        // Every day of 1900..2100 round-trips.
        let (a, b) = (
            from_ymd(1900, 1, 1).unwrap(),
            from_ymd(2100, 12, 31).unwrap(),
        );
        for day in a..=b {
            assert_eq!(parse_iso(&format_iso(day)), Some(day));
        }
    }

    #[test]
    fn strict_iso_parsing() {
        assert_eq!(parse_iso("2020-02-29"), from_ymd(2020, 2, 29));
        for bad in [
            "2019-02-29",
            "2019-02-30",
            "20190201",
            "01/02/2019",
            "2019-1-5",
            "2019-01-05 ",
            "",
            "2019-13-01",
            "0000-01-01",
            "2019-00-10",
            "2019-01-00",
            "２０１９-01-01",
        ] {
            assert_eq!(parse_iso(bad), None, "{bad:?} must be rejected");
        }
    }

    #[test]
    fn month_arithmetic_matches_the_spec_examples() {
        let d = |s| parse_iso(s).unwrap();
        assert_eq!(add_months(d("2020-03-01"), -15), Some(d("2018-12-01")));
        assert_eq!(add_months(d("2020-03-01"), -3), Some(d("2019-12-01")));
        assert_eq!(add_months(d("2020-03-01"), -12), Some(d("2019-03-01")));
        assert_eq!(add_months(d("2021-01-01"), -3), Some(d("2020-10-01")));
        // cohort-extractor raises on a day that does not exist in the target month.
        assert_eq!(add_months(d("2020-05-31"), -3), None);
        assert_eq!(add_months(d("2020-03-31"), -1), None);
        assert_eq!(add_months(d("2020-03-30"), -1), None);
        assert_eq!(add_months(d("2020-03-29"), -1), Some(d("2020-02-29")));
    }

    #[test]
    fn age_counts_a_birthday_on_the_date() {
        let d = |s| parse_iso(s).unwrap();
        assert_eq!(age_years(d("1954-09-01"), d("2019-09-01")), 65);
        assert_eq!(age_years(d("1954-09-02"), d("2019-09-01")), 64);
        assert_eq!(age_years(d("1954-10-01"), d("2019-09-01")), 64);
        assert_eq!(age_years(d("2000-02-29"), d("2019-02-28")), 18);
        assert_eq!(age_years(d("2000-02-29"), d("2018-03-01")), 18);
    }

    #[test]
    fn monthly_series_is_inclusive() {
        let d = |s| parse_iso(s).unwrap();
        let s = monthly_series(d("2019-09-01"), d("2021-09-01"));
        assert_eq!(s.len(), 25);
        assert_eq!(format_iso(s[24]), "2021-09-01");
    }

    #[test]
    fn a_time_of_day_is_dropped() {
        let day = parse_iso("2021-08-14");
        for ok in [
            "2021-08-14",
            "2021-08-14 09:30",
            "2021-08-14T09:30:00",
            "2021-08-14T09:30:00Z",
            "2021-08-14T23:59:59.123",
            "2021-08-14T09:30:00+01:00",
            "2021-08-14 00:00:00-0500",
        ] {
            assert_eq!(parse_iso_day(ok), day, "{ok:?}");
        }
        for bad in [
            "2021-08-14 ",
            "2021-08-14T",
            "2021-08-14 9:30",
            "2021-08-14 24:00",
            "2021-08-14 09:60",
            "2021-08-14T09:30:00ZZ",
            "2021-08-14T09:30:00.",
            "2021-08-14x09:30",
            "2021-08-1409:30",
            "2021-02-30 09:30",
        ] {
            assert_eq!(parse_iso_day(bad), None, "{bad:?}");
        }
    }
}
