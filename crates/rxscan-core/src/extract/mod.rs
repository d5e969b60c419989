//! Stage: the extract in memory.
//!
//! The four tables are read with polars (CSV or Parquet) and converted once into a compact
//! layout built for the evaluator, not kept as data frames:
//! - patients in a dense index `0..n`, sorted by `patient_id`;
//! - each event table grouped by patient with a counting sort (stable, so rows of one patient
//!   keep their input order, which is the documented tie-break for `latest`): an offsets array
//!   and flat columns of code id (`u32`), day number (`i32`) and, for clinical events, value
//!   and comparator;
//! - every distinct code string interned once per table. When the loader is given the codes a
//!   plan can match ([`crate::scan::rows::for_any_date`]), rows with any other code are
//!   validated and then dropped at once: they can never change a result, and they are the bulk
//!   of a real record. Given the index dates too ([`crate::scan::rows::for_dates`]), rows
//!   dated outside every window that reads their code are dropped as well.
//!
//! `load.rs` holds the file handling and the exact column validators; `events.rs` the hot path
//! for the two event tables (see its module docs), `pages.rs` its page-level Parquet
//! reader and `csvrows.rs` its scanner for quote-free CSV.
//!
//! Validation is strict and every error names the file, the line (as an editor counts it, the
//! header being line 1; or the row, for Parquet), the column and the offending value.

mod csv_diagnose;
mod error;
mod events;
mod files;
mod load;
mod model;
mod options;
mod patients;
mod source;
mod values;

pub use error::{BadValue, ExtractError, Location};
pub use model::{Comparator, EventTable, Extract, ReadPaths, Registrations, Sex, NO_DATE};
pub use options::{KeepCode, LoadOptions};
