//! Errors from reading an extract: typed for the library, with messages written for the person
//! who has to fix the export.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where in a file a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A CSV line as an editor counts it (the header is line 1).
    Line(usize),
    /// A Parquet row, 1-based.
    Row(usize),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::Row(n) => write!(f, "row {n}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    #[error("{dir}: no `{table}` table (looked for {table}.csv and {table}.parquet)")]
    MissingTable { dir: PathBuf, table: String },
    #[error(
        "{dir}: both {table}.csv and {table}.parquet exist; keep one so it is clear which is read"
    )]
    AmbiguousTable { dir: PathBuf, table: String },
    #[error("{path}: cannot read: {message}")]
    Unreadable { path: PathBuf, message: String },
    #[error("{path}: the file is empty; expected a header row with the columns {expected}")]
    EmptyFile { path: PathBuf, expected: String },
    #[error("{path}: missing column `{column}`; found columns: {found}{hint}")]
    MissingColumn {
        path: PathBuf,
        column: String,
        found: String,
        hint: String,
    },
    /// A value that does not parse or is out of place (boxed: the details are large and errors
    /// are rare, so `Result`s stay small on the hot path).
    #[error("{0}")]
    BadValue(Box<BadValue>),
    #[error("{path}: column `{column}` has type {found}; expected {expected}")]
    BadColumnType {
        path: PathBuf,
        column: String,
        found: String,
        expected: String,
    },
    #[error("{path}:{location}: {message}")]
    Malformed {
        path: PathBuf,
        location: Location,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    /// A column mapping with mistakes, each a diagnostic against the mapping file.
    #[error("{0}")]
    Mapping(Box<super::mapping::MappingError>),
    /// A load option that cannot be honoured (a field declared absent that may not be).
    #[error("{message}")]
    BadOption { message: String },
    #[error(
        "{path}: {count} row(s) refer to a patient_id that is not in the patients table (first: \
         patient_id {first_id} at {first_at}); fix the extract, or pass {skip_option} to skip \
         them with a warning"
    )]
    Orphans {
        path: PathBuf,
        count: usize,
        first_id: String,
        first_at: Location,
        /// What the caller calls skipping such rows ([`crate::OptionNames::skip_orphans`]).
        skip_option: &'static str,
    },
}

impl ExtractError {
    /// A file that cannot be opened or read, with the reason.
    pub(super) fn unreadable(path: &Path, e: &dyn fmt::Display) -> ExtractError {
        ExtractError::Unreadable {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}

/// One bad value: where it is, what it is, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadValue {
    pub path: PathBuf,
    pub location: Location,
    pub column: String,
    pub column_no: usize,
    pub problem: String,
    pub value: String,
    pub expected: String,
}

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: column {} `{}`: {}: {:?}; expected {}",
            self.path.display(),
            self.location,
            self.column_no,
            self.column,
            self.problem,
            self.value,
            self.expected
        )
    }
}
