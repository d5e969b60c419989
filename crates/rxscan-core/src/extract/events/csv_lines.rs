//! Scanning quote-free CSV text of an event table straight into values, without building
//! string columns first.
//!
//! polars' CSV reader turns every field into a string in a column (a 16-byte view per field,
//! and the bytes), which the loader then reads back and converts: parsing and reading back
//! were most of a CSV scan. For the common case, a block with no quote character and only
//! ASCII bytes, the records are plain lines of comma-separated fields, so one pass over the
//! bytes can find the fields (one vectorised search for commas and newlines) and convert the
//! few columns the scan reads as it goes.
//!
//! Like the page reader for Parquet (`parquet_pages.rs`), this is a fast path and nothing more. It
//! accepts only what is plainly valid: every line with exactly the header's number of fields,
//! ids of 1 to 18 digits, dates as the table's format reads them (`YYYY-MM-DD` by default, a
//! time of day after it dropped), a code with no surrounding space, a number
//! `parse_number` accepts or nothing, a comparator or nothing; a `\r` before a newline is a
//! line ending, as for polars. On anything else (a blank line, a stray space, a bad value, a
//! short or long line) it returns `None`, and the caller parses that part with polars and the
//! exact validators, which accept the same rows or name the problem.

use crate::dates::Day;
use crate::extract::model::Comparator;
use crate::extract::values::{digits, parse_number};

/// What the scan does with one field of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Skip,
    Id,
    Date,
    Code,
    Value,
    Comparator,
}

/// One line's converted fields (`value` NaN and `comparator` 0 when the table has none).
#[derive(Debug, Clone, Copy)]
pub(super) struct ScannedLine {
    pub id: i64,
    pub day: Day,
    pub code: u32,
    pub value: f64,
    pub comparator: u8,
}

/// Scan `text`, whole lines of a header-less, quote-free CSV (the last may lack its newline),
/// whose fields have the given roles. `dates` reads a date (generic, so that the default ISO
/// parser is inlined into the loop); `code_of` gives a non-empty, unpadded code's keep id;
/// `record(i, r)` is called for line `i` (from 0). Returns the number of lines, or `None` on
/// doubt (see the module docs), possibly after some calls to `record`.
pub(super) fn scan(
    text: &[u8],
    roles: &[Role],
    code_of: &dyn Fn(&str) -> u32,
    dates: &impl Fn(&str) -> Option<Day>,
    mut record: impl FnMut(usize, &ScannedLine),
) -> Option<usize> {
    if !text.is_ascii() {
        return None;
    }
    let mut r = ScannedLine {
        id: 0,
        day: 0,
        code: 0,
        value: f64::NAN,
        comparator: Comparator::None as u8,
    };
    // The previous line's date text and value: rows often come in date order.
    let mut memo = DateMemo { text: None, day: 0 };
    let mut line = 0usize;
    let mut field = 0usize;
    let mut start = 0usize;
    for at in memchr::memchr2_iter(b',', b'\n', text) {
        let mut f = &text[start..at];
        start = at + 1;
        let end_of_line = text[at] == b'\n';
        if end_of_line {
            if let [rest @ .., b'\r'] = f {
                f = rest;
            }
        }
        take(f, *roles.get(field)?, &mut r, &mut memo, code_of, dates)?;
        if end_of_line {
            if field + 1 != roles.len() {
                return None;
            }
            record(line, &r);
            line += 1;
            field = 0;
        } else {
            field += 1;
        }
    }
    if start < text.len() {
        // The last line, without a newline.
        let mut f = &text[start..];
        if let [rest @ .., b'\r'] = f {
            f = rest;
        }
        take(f, *roles.get(field)?, &mut r, &mut memo, code_of, dates)?;
        if field + 1 != roles.len() {
            return None;
        }
        record(line, &r);
        line += 1;
    } else if field != 0 {
        return None;
    }
    Some(line)
}

/// The last date text seen (none yet: an empty field must not match) and its value.
struct DateMemo<'t> {
    text: Option<&'t [u8]>,
    day: Day,
}

/// Convert one field (ASCII) into `r` by its role; `None` on doubt.
#[inline]
fn take<'t>(
    f: &'t [u8],
    role: Role,
    r: &mut ScannedLine,
    memo: &mut DateMemo<'t>,
    code_of: &dyn Fn(&str) -> u32,
    dates: &impl Fn(&str) -> Option<Day>,
) -> Option<()> {
    let text = |f: &'t [u8]| std::str::from_utf8(f).ok();
    match role {
        Role::Skip => {}
        Role::Id => r.id = digits(text(f)?)? as i64,
        Role::Date => {
            if memo.text != Some(f) {
                memo.day = dates(text(f)?)?;
                memo.text = Some(f);
            }
            r.day = memo.day;
        }
        Role::Code => {
            let (first, last) = (*f.first()?, *f.last()?);
            if first.is_ascii_whitespace() || last.is_ascii_whitespace() {
                return None;
            }
            r.code = code_of(text(f)?);
        }
        Role::Value => {
            r.value = if f.is_empty() {
                f64::NAN
            } else {
                parse_number(text(f)?)?
            };
        }
        Role::Comparator => r.comparator = Comparator::parse(text(f)?)? as u8,
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates;

    const ROLES: [Role; 5] = [
        Role::Id,
        Role::Date,
        Role::Code,
        Role::Value,
        Role::Comparator,
    ];

    /// Line, id, day, code, value, comparator.
    type Line = (usize, i64, Day, u32, Option<f64>, u8);

    fn run(text: &str) -> Option<Vec<Line>> {
        let code_of = |c: &str| if c == "5" { 0 } else { 9 };
        let mut out = Vec::new();
        let n = scan(
            text.as_bytes(),
            &ROLES,
            &code_of,
            &dates::parse_iso_day,
            |i, r| {
                out.push((
                    i,
                    r.id,
                    r.day,
                    r.code,
                    (!r.value.is_nan()).then_some(r.value),
                    r.comparator,
                ))
            },
        )?;
        assert_eq!(n, out.len());
        Some(out)
    }

    #[test]
    fn plain_lines_convert_field_by_field() {
        let d = |s| dates::parse_iso(s).expect("date");
        assert_eq!(
            run("1,2020-01-01,5,,\n22,2020-01-02,77,4.5,<=\r\n3,2020-01-02,5,1e2,~"),
            Some(vec![
                (0, 1, d("2020-01-01"), 0, None, 0),
                (1, 22, d("2020-01-02"), 9, Some(4.5), Comparator::Le as u8),
                (
                    2,
                    3,
                    d("2020-01-02"),
                    0,
                    Some(100.0),
                    Comparator::Approx as u8
                ),
            ])
        );
        assert_eq!(run(""), Some(vec![]));
    }

    #[test]
    fn a_time_of_day_is_read_as_its_day() {
        let d = dates::parse_iso("2020-01-01").expect("date");
        assert_eq!(
            run("1,2020-01-01 09:30,5,,\n2,2020-01-01T09:30:00Z,5,,\n"),
            Some(vec![(0, 1, d, 0, None, 0), (1, 2, d, 0, None, 0)])
        );
    }

    #[test]
    fn anything_unusual_is_a_doubt() {
        for text in [
            "1,2020-01-01,5,,\n\n2,2020-01-01,5,,\n", // a blank line
            "1,2020-01-01,5,,,\n",                    // a field too many
            "1,2020-01-01,5,\n",                      // a field too few
            " 1,2020-01-01,5,,\n",                    // padding
            "1,2020-01-01, 5,,\n",
            "-1,2020-01-01,5,,\n", // not an id
            "1,2020-02-30,5,,\n",  // not a date
            "1,2020-1-01,5,,\n",
            "1,2020-01-01,,,\n",          // no code
            "1,,5,,\n",                   // no date, on the first line (found by the fuzzer)
            "1,2020-01-01,5,,\n1,,5,,\n", // no date, later
            "1,2020-01-01,5,inf,\n",      // not a number
            "1,2020-01-01,5,,=<\n",       // not a comparator
            "1,2020-01-01,é,,\n",         // not ASCII
            "1,2020-01-01,5,,\r\r\n",
        ] {
            assert_eq!(run(text), None, "{text:?}");
        }
    }
}
