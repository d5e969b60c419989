//! A second, careful reading of a CSV file, used only on the error path: to turn a row index
//! into the line an editor shows, and to say what is structurally wrong with a file polars
//! refused ([`diagnose_csv`]). It is the diagnoser, not a reader: the loader's CSV is read by
//! polars or by the fast line scanner, and comes here only once something is wrong.
//!
//! Records are split exactly as polars splits them, not as the `csv` crate does: a blank line
//! is a record (polars reads it as a row of nulls), `\r\n` and `\n` both end a line, a `"`
//! opens a quoted field only at the start of a field, and a quoted field may hold newlines.
//! (The `csv` crate skips blank lines and, with `\r\n` endings, reports the line before the
//! one a record starts on, so its positions cannot be used to name a line.)

use std::io::{self, BufRead, BufReader};
use std::path::Path;

use polars::prelude::PolarsError;

use super::error::{ExtractError, Location};

/// How much of a record is kept for messages and the UTF-8 check.
const KEEP: usize = 64 * 1024;
/// How much of a record a message quotes.
const SHOW: usize = 120;

/// One record (the header is record 0) as written in the file.
#[derive(Debug, Clone)]
pub(super) struct DiagnosedRecord {
    /// The line the record starts on (the header is line 1).
    pub line: usize,
    /// Fields, counted like polars counts them.
    pub fields: usize,
    /// A structural problem inside the record (quoting, encoding).
    pub problem: Option<String>,
    /// Ends with a newline (false only for the last record of a file without a final newline).
    pub terminated: bool,
    /// The first bytes of the record, without its line ending.
    text: Vec<u8>,
    len: usize,
    last: u8,
}

impl DiagnosedRecord {
    fn new(line: usize) -> DiagnosedRecord {
        DiagnosedRecord {
            line,
            fields: 1,
            problem: None,
            terminated: false,
            text: Vec::new(),
            len: 0,
            last: 0,
        }
    }

    /// An empty line (polars reads it as a row of nulls).
    pub fn is_blank(&self) -> bool {
        self.len == 0 || (self.len == 1 && self.last == b'\r')
    }

    /// The record as written, shortened for a message.
    pub fn shown(&self) -> String {
        let mut bytes: &[u8] = &self.text;
        if self.len == self.text.len() && bytes.last() == Some(&b'\r') {
            bytes = &bytes[..bytes.len() - 1];
        }
        let text = String::from_utf8_lossy(bytes);
        let mut shown: String = text.chars().take(SHOW).collect();
        if shown.len() < text.len() || self.len > self.text.len() {
            shown.push('…');
        }
        shown
    }

    fn push(&mut self, b: u8) {
        if self.text.len() < KEEP {
            self.text.push(b);
        }
        self.len += 1;
        self.last = b;
    }

    fn finish(&mut self) {
        if self.problem.is_some() {
            return;
        }
        if let Err(e) = std::str::from_utf8(&self.text) {
            // A multi-byte character cut by the KEEP limit is not an error.
            if e.error_len().is_some() || self.len == self.text.len() {
                let column = self.text[..e.valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b',')
                    .count()
                    + 1;
                self.problem = Some(format!(
                    "column {column}: the text is not valid UTF-8 (rxscan reads UTF-8 files)"
                ));
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a field.
    Start,
    Unquoted,
    Quoted,
    /// Just after a `"` inside a quoted field: the closing quote, or the first of `""`.
    QuoteSeen,
}

/// Call `f(index, record)` for each record in order until it returns false.
fn walk(path: &Path, mut f: impl FnMut(usize, &DiagnosedRecord) -> bool) -> io::Result<()> {
    let mut r = BufReader::with_capacity(1 << 16, super::files::open_text(path)?);
    let mut line = 1;
    let mut index = 0;
    let mut rec = DiagnosedRecord::new(1);
    let mut state = State::Start;
    let mut at_start = true;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len();
        let mut i = 0;
        if std::mem::take(&mut at_start) && buf.starts_with(b"\xEF\xBB\xBF") {
            i = 3;
        }
        while i < n {
            let b = buf[i];
            i += 1;
            if b == b'\n' {
                if state != State::Quoted {
                    rec.terminated = true;
                    rec.finish();
                    if !f(index, &rec) {
                        return Ok(());
                    }
                    index += 1;
                    line += 1;
                    rec = DiagnosedRecord::new(line);
                    state = State::Start;
                    continue;
                }
                line += 1;
            }
            // A `\r` that ends a line (`\r\n`) is dropped by both readers; anywhere else it
            // is data, which only matters after a closing quote.
            let cr_before_newline = b == b'\r' && buf.get(i).is_none_or(|&c| c == b'\n');
            rec.push(b);
            state = match (state, b) {
                (State::Start, b'"') => State::Quoted,
                (State::Start | State::Unquoted, b',') => {
                    rec.fields += 1;
                    State::Start
                }
                (State::Start | State::Unquoted, _) => State::Unquoted,
                (State::Quoted, b'"') => State::QuoteSeen,
                (State::Quoted, _) => State::Quoted,
                (State::QuoteSeen, b'"') => State::Quoted,
                (State::QuoteSeen, b',') => {
                    rec.fields += 1;
                    State::Start
                }
                (State::QuoteSeen, _) if cr_before_newline => State::QuoteSeen,
                (State::QuoteSeen, _) => {
                    if rec.problem.is_none() {
                        rec.problem = Some(format!(
                            "column {}: text after the closing quote of a quoted field (a `\"` inside a quoted field is written `\"\"`)",
                            rec.fields
                        ));
                    }
                    State::Unquoted
                }
            };
        }
        r.consume(n);
    }
    if rec.len > 0 {
        if state == State::Quoted && rec.problem.is_none() {
            rec.problem = Some(format!(
                "column {}: a quoted field that starts here is never closed",
                rec.fields
            ));
        }
        rec.finish();
        f(index, &rec);
    }
    Ok(())
}

/// Record `index` (0 is the header), if the file has that many.
pub(super) fn record_at(path: &Path, index: usize) -> Option<DiagnosedRecord> {
    let mut found = None;
    walk(path, |i, rec| {
        if i == index {
            found = Some(rec.clone());
            return false;
        }
        true
    })
    .ok()?;
    found
}

/// The first structural problem that makes polars refuse a file: bad quoting, text that is
/// not UTF-8, a row with more fields than the header. Returns the line and a message. (Rows
/// with fewer fields are not here: polars reads the missing fields as empty, and the loader
/// reports them when a required value is missing.)
fn first_problem(path: &Path, header_fields: usize) -> Option<(usize, String)> {
    let mut found = None;
    walk(path, |i, rec| {
        if let Some(p) = &rec.problem {
            found = Some((rec.line, p.clone()));
        } else if i > 0 && rec.fields > header_fields && !rec.is_blank() {
            found = Some((
                rec.line,
                format!(
                    "expected {header_fields} fields like the header, found {}: {:?}",
                    rec.fields,
                    rec.shown()
                ),
            ));
        }
        found.is_none()
    })
    .ok()?;
    found
}

/// When record `index` (0 is the header) is empty or has fewer fields than the header, the
/// line and a message saying so: a value polars read as missing was never written.
pub(super) fn short_row(
    path: &Path,
    index: usize,
    header_fields: usize,
) -> Option<(usize, String)> {
    let rec = record_at(path, index)?;
    let message = if rec.is_blank() {
        format!("the line is empty; expected a row with the {header_fields} fields of the header (remove blank lines)")
    } else if rec.fields < header_fields {
        let cut = if rec.terminated {
            ""
        } else {
            "; the file ends inside this row: is it cut short?"
        };
        format!(
            "expected {header_fields} fields like the header, found {}: {:?}{cut}",
            rec.fields,
            rec.shown()
        )
    } else {
        return None;
    };
    Some((rec.line, message))
}

/// The message for a header that is not UTF-8, recognising a UTF-16 file by its byte order mark.
pub(super) fn header_not_utf8(path: &Path) -> String {
    let mut start = [0u8; 2];
    let utf16 = super::files::open_text(path)
        .and_then(|mut f| io::Read::read_exact(&mut f, &mut start))
        .is_ok()
        && matches!(start, [0xFF, 0xFE] | [0xFE, 0xFF]);
    let hint = if utf16 {
        " (this file looks like UTF-16: save it as UTF-8)"
    } else {
        ""
    };
    format!("the header is not valid UTF-8 text; rxscan reads UTF-8 files{hint}")
}

/// Lines end with a lone `\r` (classic Mac): polars would see one long header line and no rows.
pub(super) fn lone_cr(path: &Path) -> bool {
    let mut head = Vec::new();
    if super::files::open_text(path)
        .and_then(|f| io::Read::read_to_end(&mut io::Read::take(f, 1 << 16), &mut head))
        .is_err()
    {
        return false;
    }
    let first_line = match head.iter().position(|&b| b == b'\n') {
        Some(end) => &head[..end],
        None => &head[..],
    };
    first_line
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\r' && i + 1 < first_line.len())
}

/// Why polars refused a CSV file: the first structurally broken record, found by reading the
/// file again the way polars splits it, or else the first line of polars' own message.
pub(super) fn diagnose_csv(path: &Path, header: &[String], e: &PolarsError) -> ExtractError {
    match first_problem(path, header.len()) {
        Some((line, message)) => ExtractError::Malformed {
            path: path.to_path_buf(),
            location: Location::Line(line),
            message,
        },
        None => {
            let text = e.to_string();
            ExtractError::Unreadable {
                path: path.to_path_buf(),
                message: text.lines().next().unwrap_or("").trim().to_string(),
            }
        }
    }
}
