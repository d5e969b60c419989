//! One table's rows as polars read them ([`Source`]), and the exact validators: each column
//! converted to a plain typed vector with full validation, so that a bad value anywhere in a
//! file is reported, not only in rows that happen to matter.
//!
//! CSV columns are read as strings and parsed here (polars' own parsers accept dates and
//! numbers the spec calls broken, and cannot say which line failed); Parquet columns are taken
//! in their stored types where those are unambiguous. Every fast path hands what it doubts to
//! these validators, so they are the one source of messages about values: a problem is named
//! the same way whichever path found it.

use std::path::PathBuf;

use polars::prelude::*;

use super::date_format::DateFormat;
use super::error::{BadValue, ExtractError, Location};
use super::model::NO_DATE;
use super::options::LoadOptions;
use super::values::{parse_id, parse_number};
use crate::dates::{self, Day};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Csv,
    Parquet,
}

/// One table's file, read into a frame, with its header for column numbers.
pub(super) struct Source {
    pub(super) path: PathBuf,
    pub(super) format: Format,
    /// The header with its resolved columns under their contract names (`columns.rs`).
    pub(super) header: Vec<String>,
    /// The header as the file writes it: messages name the file's own columns.
    pub(super) file_header: Vec<String>,
    /// How the table writes its dates.
    pub(super) dates: DateFormat,
    pub(super) frame: DataFrame,
    /// Records before this frame's first row (when a table is read in batches).
    pub(super) row_offset: usize,
}

impl Source {
    fn column_no(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .map_or(0, |i| i + 1)
    }

    pub(super) fn location(&self, row: usize) -> Location {
        let row = row + self.row_offset;
        match self.format {
            Format::Parquet => Location::Row(row + 1),
            Format::Csv => Location::Line(
                super::csv_diagnose::record_at(&self.path, row + 1).map_or(row + 2, |r| r.line),
            ),
        }
    }

    pub(super) fn bad(
        &self,
        row: usize,
        column: &str,
        problem: &str,
        value: &str,
        expected: &str,
    ) -> ExtractError {
        // A missing value may be a row that is cut short, or a blank line: say that instead.
        if let Some((line, message)) = (self.format == Format::Csv)
            .then(|| {
                super::csv_diagnose::short_row(
                    &self.path,
                    self.row_offset + row + 1,
                    self.header.len(),
                )
            })
            .flatten()
        {
            return ExtractError::Malformed {
                path: self.path.clone(),
                location: Location::Line(line),
                message,
            };
        }
        let column_no = self.column_no(column);
        let column = match self.file_header.get(column_no.wrapping_sub(1)) {
            Some(name) => name.clone(),
            None => column.to_string(),
        };
        ExtractError::BadValue(Box::new(BadValue {
            path: self.path.clone(),
            location: self.location(row),
            column,
            column_no,
            problem: problem.to_string(),
            value: value.to_string(),
            expected: expected.to_string(),
        }))
    }

    pub(super) fn col(&self, name: &str) -> Result<&Column, ExtractError> {
        self.frame.column(name).map_err(|e| ExtractError::Invalid {
            path: self.path.clone(),
            message: e.to_string(),
        })
    }

    pub(super) fn has(&self, name: &str) -> bool {
        self.header.iter().any(|h| h == name)
    }

    pub(super) fn wrong_type(&self, name: &str, found: &DataType, expected: &str) -> ExtractError {
        ExtractError::BadColumnType {
            path: self.path.clone(),
            column: name.to_string(),
            found: found.to_string(),
            expected: expected.to_string(),
        }
    }

    /// Non-negative integer ids (patient_id).
    pub(super) fn ids(&self, name: &str) -> Result<Vec<i64>, ExtractError> {
        let col = self.col(name)?;
        let expected = "a non-negative whole number";
        match col.dtype() {
            DataType::String => {
                let ca = col.str().map_err(|e| self.polars(e))?;
                let mut out = Vec::with_capacity(ca.len());
                for (i, v) in ca.iter().enumerate() {
                    let s = v.unwrap_or("");
                    match parse_id(s) {
                        Ok(id) => out.push(id),
                        Err(problem) => return Err(self.bad(i, name, problem, s, expected)),
                    }
                }
                Ok(out)
            }
            dt if dt.is_integer() => {
                let cast = col.cast(&DataType::Int64).map_err(|e| self.polars(e))?;
                let ca = cast.i64().map_err(|e| self.polars(e))?;
                let mut out = Vec::with_capacity(ca.len());
                for (i, v) in ca.iter().enumerate() {
                    match v {
                        Some(id) if id >= 0 => out.push(id),
                        Some(id) => {
                            return Err(self.bad(i, name, "negative id", &id.to_string(), expected))
                        }
                        // The cast turns an unsigned id above i64::MAX into null too.
                        None => match col.get(i) {
                            Ok(v) if !v.is_null() => {
                                return Err(self.bad(
                                    i,
                                    name,
                                    "id too large (the limit is 9223372036854775807)",
                                    &v.to_string(),
                                    expected,
                                ))
                            }
                            _ => return Err(self.bad(i, name, "empty value", "", expected)),
                        },
                    }
                }
                Ok(out)
            }
            other => Err(self.wrong_type(name, other, "an integer or string column")),
        }
    }

    /// Dates as day numbers; empty values become [`NO_DATE`] when `optional`.
    pub(super) fn dates(&self, name: &str, optional: bool) -> Result<Vec<Day>, ExtractError> {
        let col = self.col(name)?;
        let expected = &self.dates.expected(optional);
        match col.dtype() {
            DataType::String => {
                let ca = col.str().map_err(|e| self.polars(e))?;
                let mut out = Vec::with_capacity(ca.len());
                for (i, v) in ca.iter().enumerate() {
                    match v {
                        None | Some("") if optional => out.push(NO_DATE),
                        None | Some("") => {
                            return Err(self.bad(i, name, "empty value", "", expected))
                        }
                        Some(s) => match self.dates.parse(s) {
                            Some(d) => out.push(d),
                            None => return Err(self.bad(i, name, "invalid date", s, expected)),
                        },
                    }
                }
                Ok(out)
            }
            DataType::Date => {
                let ca = col.date().map_err(|e| self.polars(e))?;
                let lo = dates::from_ymd(dates::MIN_YEAR, 1, 1).unwrap_or(Day::MIN);
                let hi = dates::from_ymd(dates::MAX_YEAR, 12, 31).unwrap_or(Day::MAX - 1);
                let mut out = Vec::with_capacity(ca.len());
                for (i, v) in ca.physical().iter().enumerate() {
                    match v {
                        None if optional => out.push(NO_DATE),
                        None => return Err(self.bad(i, name, "empty value", "", expected)),
                        Some(d) if (lo..=hi).contains(&d) => out.push(d),
                        Some(d) => {
                            return Err(self.bad(
                                i,
                                name,
                                "date out of range",
                                &d.to_string(),
                                "a date between years 1 and 9999",
                            ))
                        }
                    }
                }
                Ok(out)
            }
            DataType::Null if optional => Ok(vec![NO_DATE; col.len()]),
            other => Err(self.wrong_type(name, other, "a Date or YYYY-MM-DD string column")),
        }
    }

    /// A string column as an iterator of trimmed `&str` ("" for null), integers rendered.
    pub(super) fn strings(&self, name: &str) -> Result<StrCol, ExtractError> {
        let col = self.col(name)?;
        match col.dtype() {
            DataType::String => Ok(StrCol(col.str().map_err(|e| self.polars(e))?.clone())),
            DataType::Null => Ok(StrCol(StringChunked::full_null(name.into(), col.len()))),
            other => Err(self.wrong_type(name, other, "a string column")),
        }
    }

    /// `numeric_value`: finite numbers, or empty (stored as NaN).
    pub(super) fn numbers(&self, name: &str) -> Result<Vec<f64>, ExtractError> {
        let col = self.col(name)?;
        let expected = "a number like 42 or 37.5, or empty";
        match col.dtype() {
            DataType::String => {
                let ca = col.str().map_err(|e| self.polars(e))?;
                let mut out = Vec::with_capacity(ca.len());
                for (i, v) in ca.iter().enumerate() {
                    let s = v.unwrap_or("");
                    if s.is_empty() {
                        out.push(f64::NAN);
                        continue;
                    }
                    match parse_number(s) {
                        Some(x) => out.push(x),
                        None => return Err(self.bad(i, name, "invalid number", s, expected)),
                    }
                }
                Ok(out)
            }
            dt if dt.is_primitive_numeric() => {
                let cast = col.cast(&DataType::Float64).map_err(|e| self.polars(e))?;
                let ca = cast.f64().map_err(|e| self.polars(e))?;
                let mut out = Vec::with_capacity(ca.len());
                for (i, v) in ca.iter().enumerate() {
                    match v {
                        None => out.push(f64::NAN),
                        Some(x) if x.is_finite() => out.push(x),
                        Some(x) => {
                            return Err(self.bad(
                                i,
                                name,
                                "invalid number",
                                &x.to_string(),
                                expected,
                            ))
                        }
                    }
                }
                Ok(out)
            }
            DataType::Null => Ok(vec![f64::NAN; col.len()]),
            other => Err(self.wrong_type(name, other, "a numeric column")),
        }
    }

    pub(super) fn polars(&self, e: PolarsError) -> ExtractError {
        ExtractError::Invalid {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }
}

pub(super) struct StrCol(pub(super) StringChunked);

impl StrCol {
    pub(super) fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.iter().map(|v| v.unwrap_or(""))
    }
}

pub(super) struct Orphans {
    pub(super) count: usize,
    pub(super) first: Option<(i64, usize)>,
}

impl Orphans {
    pub(super) fn new() -> Self {
        Orphans {
            count: 0,
            first: None,
        }
    }
    pub(super) fn note(&mut self, id: i64, row: usize) {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some((id, row));
        }
    }
    /// Error out, or record the skip, as the options say.
    pub(super) fn settle(
        self,
        src: &Source,
        opts: &LoadOptions,
        skipped: &mut Vec<(String, usize)>,
    ) -> Result<(), ExtractError> {
        let Some((id, row)) = self.first else {
            return Ok(());
        };
        if opts.skip_orphans {
            skipped.push((src.path.display().to_string(), self.count));
            return Ok(());
        }
        Err(ExtractError::Orphans {
            path: src.path.clone(),
            count: self.count,
            first_id: id.to_string(),
            first_at: src.location(row),
            skip_option: opts.names.skip_orphans,
        })
    }
}
