//! Stage: the extract in memory.
//!
//! The four tables are read with polars (CSV or Parquet) and converted once into a compact
//! layout built for the evaluator, not kept as data frames:
//! - patients in a dense index `0..n`, sorted by `patient_id`;
//! - each event table grouped by patient with a counting sort (stable, so rows of one patient
//!   keep their input order; results never depend on it): an offsets array
//!   and flat columns of code id (`u32`), day number (`i32`) and, for clinical events, value
//!   and comparator;
//! - every distinct code string interned once per table. When the loader is given the codes a
//!   plan can match ([`crate::scan::rows::for_any_date`]), rows with any other code are
//!   validated and then dropped at once: they can never change a result, and they are the bulk
//!   of a real record. Given the index dates too ([`crate::scan::rows::for_dates`]), rows
//!   dated outside every window that reads their code are dropped as well.
//!
//! Real exports are read through the same code: a column mapping renames a table's header to
//! the contract's names (`columns.rs`), dates are read in the table's format, compressed CSV is
//! streamed, and what the load read and found comes back in [`LoadReport`].
//!
//! Validation is strict and every error names the file, the line (as an editor counts it, the
//! header being line 1; or the row, for Parquet), the column and the offending value.
//!
//! # Files, by phase
//!
//! One job per file, and imports run one way: a file uses only files below it in this list
//! (the orchestrator above, the toolbox below, as ripgrep's searcher: glue over core over the
//! line buffer).
//!
//! ```text
//! load.rs          the orchestration: patients, registrations, then the two event tables
//! patients.rs      the patients and practice_registrations tables
//! events/          the two event tables, the hot path (its own map is in events/mod.rs)
//! files.rs         finding a table's files (by name, or by a column mapping; a glob is
//!                  several), opening them (`.gz`/`.zst` decompressed as read), reading them
//!                  with polars
//! columns.rs       a header resolved: the mapping's, the contract's or a loosely matched
//!                  name for each field, and the fields absent (said, never assumed)
//! mapping.rs       a column mapping (`--mapping FILE.toml`) parsed with spans; its diagnostics
//! date_format.rs   ISO or strftime dates, a time of day dropped
//! source.rs        a table's rows as polars read them, and every exact validator
//! csv_diagnose.rs  the CSV diagnoser: which line a row is on, what is wrong with a file
//! values.rs        one value at a time: digits, numbers, ids, code and patient lookups
//! options.rs       LoadOptions, KeepCode: how a load is asked for
//! model.rs         Extract, EventTable, Registrations, Sex, Comparator, ReadPaths, LoadReport
//! error.rs         ExtractError and its parts
//! ```
//!
//! The phases (`patients.rs`, `events/`) use the toolbox and never each other: the patient
//! index they share is a lookup in `values.rs`, not part of `patients.rs`. `Extract::load` is
//! defined in `load.rs`, so that `model.rs` is plain data with nothing above it. Finding and
//! opening a file (`files.rs`) is kept apart from the validators over its rows (`source.rs`):
//! the header is checked before any row is read, and the fast paths fall back on the
//! validators alone. In `events/`, each direct path's driver (`csv_chunks.rs`,
//! `parquet_row_groups.rs`) is apart from its reader (`csv_lines.rs`, `parquet_pages.rs`), so
//! the readers stay leaves that know nothing of pieces or keep sets, and polars' batch path is
//! three files (reading and tasks, the fast pass, the exact path) rather than one of 800 lines.

mod columns;
mod csv_diagnose;
mod date_format;
mod error;
mod events;
mod files;
mod load;
mod mapping;
mod model;
mod options;
mod patients;
mod source;
mod values;

pub use date_format::DateFormat;
pub use error::{BadValue, ExtractError, Location};
pub use mapping::{Mapping, MappingError};
pub use model::{
    Comparator, EarlierRows, EventTable, Extract, InputFile, LoadReport, ReadPaths, Registrations,
    Rows, Sex, NO_DATE,
};
pub use options::{History, KeepCode, LoadOptions};
pub(crate) use patients::practice_order;
