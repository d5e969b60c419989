//! Loading the two event tables (`medications`, `clinical_events`): the hot part of a load.
//!
//! A real record is mostly rows that cannot change any result, so the design is to touch each
//! row as little as possible while still validating every one of them. A table takes the
//! first of three paths that applies, each in parallel:
//!
//! - **Parquet, page by page** (`parquet_row_groups.rs`, decoding with `parquet_pages.rs`): row
//!   groups decoded from their pages, a dictionary entry decided once and each row a 4-byte
//!   index into it.
//! - **CSV, line by line** (`csv_chunks.rs`, scanning with `csv_lines.rs`): the file
//!   memory-mapped a window at a time and cut at line ends into chunks whose fields are
//!   converted as they are found.
//! - **polars' batches** (`batches.rs`): everything else (no keep set, a schema the page reader
//!   does not take, and any row group or chunk the first two doubt): polars reads Parquet row
//!   slices or CSV blocks, and 64k-row tasks read its arrow arrays directly (`batch_fast.rs`: a
//!   code resolved once per distinct 16-byte view), with the exact validators behind them
//!   (`batch_exact.rs`).
//!
//! In all three:
//!
//! - **Predicate push-down.** A row is kept only when its code is in the keep set *and* its
//!   date falls in that code's span (the union of the windows that read it over the scanned
//!   index dates, [`crate::scan::rows::for_dates`]; the keep set is in `table.rs`).
//! - **Exact path on doubt.** A fast path accepts only values that are plainly valid. On
//!   anything else (a null, padding to trim, a bad value, an unexpected column type) it gives
//!   up on its row group, chunk or task, and the exact column validators of `source.rs` read
//!   the same rows again: they report the first problem with file, line, column and value, or
//!   keep the same rows. Error messages are therefore those of one implementation, whichever
//!   path ran; [`ReadPaths`] records which did.
//! - **Grouping.** Kept rows stay in their pieces, in input order; a counting sort writes them
//!   straight into the final per-patient columns, each thread owning a range of patients
//!   (stable, so rows of one patient keep their input order; `piece.rs`).
//!
//! This file is the driver: it opens the table, picks the path and groups the pieces. Imports
//! run one way, down the page (a file uses only files below it; the two leaf readers take
//! closures and know nothing of pieces or keep sets):
//!
//! ```text
//! mod.rs                   load_events: the driver
//! parquet_row_groups.rs    the Parquet path ─┐ both hand what they doubt
//! csv_chunks.rs            the CSV path    ──┘ to the batches
//! batches.rs               polars' batches, cut into tasks
//! batch_fast.rs            the fast pass over a batch's arrays
//! batch_exact.rs           the exact path over a batch's rows
//! earlier.rs               history rows for evidence: thinned, set apart
//! piece.rs                 the kept rows of a task, chunk or row group; grouping
//! table.rs                 the table's columns, keep set and origin
//! parquet_pages.rs         decodes one row group's pages (leaf)
//! csv_lines.rs             scans quote-free CSV lines (leaf)
//! csv_text.rs              a CSV file's text a window at a time: mapped, or decompressed (leaf)
//! ```

mod batch_exact;
mod batch_fast;
mod batches;
mod csv_chunks;
mod csv_lines;
mod csv_text;
mod earlier;
mod parquet_pages;
mod parquet_row_groups;
mod piece;
mod table;

use std::path::Path;

use polars::prelude::*;

use batch_exact::exact;
use batches::{for_each_batch, frame_pieces};
use csv_chunks::{load_csv_lines, CSV_CHUNK, CSV_WINDOW};
use parquet_row_groups::load_row_groups;
use piece::{group, Piece};
use table::{FrameCtx, KeepSet, RowShape};

use super::error::ExtractError;
use super::files::{open_table, Opened};
use super::model::{EventTable, LoadReport, ReadPaths};
use super::options::LoadOptions;
use super::patients::input_file;
use super::source::{Format, Orphans};
use super::values::{CodeDict, PatientIndex};
use crate::plan::Table;

pub(super) fn load_events(
    dir: &Path,
    table: Table,
    index: &PatientIndex,
    opts: &LoadOptions,
    admitted: Option<Vec<bool>>,
    skipped: &mut Vec<(String, usize)>,
    report: &mut LoadReport,
) -> Result<EventTable, ExtractError> {
    let (code_col, extra): (&str, &[&str]) = match table {
        Table::Medications => ("dmd_code", &[]),
        Table::ClinicalEvents => ("snomedct_code", &["numeric_value"]),
    };
    let is_events = table == Table::ClinicalEvents;
    let required: Vec<&str> = ["patient_id", "date", code_col]
        .iter()
        .chain(extra)
        .copied()
        .collect();
    let optional: &[&str] = if is_events { &["comparator"] } else { &[] };
    let files = open_table(dir, table.name(), &required, optional, opts, report)?;
    let keep = match table {
        Table::Medications => opts.keep_medication_codes.as_deref(),
        Table::ClinicalEvents => opts.keep_event_codes.as_deref(),
    }
    .map(|codes| KeepSet::new(codes, admitted.unwrap_or_else(|| vec![true; index.len])));
    let mut dict = CodeDict::default();
    let timer = std::time::Instant::now();
    let mut pieces: Vec<Piece> = Vec::new();
    let mut read_by = ReadPaths::default();
    let mut rows_read = 0;
    // A table in several files (a mapping's glob) is their rows in turn: each file is read and
    // its orphans settled on its own (so messages name it), and the pieces grouped together,
    // in file order.
    for opened in &files {
        let first = pieces.len();
        let rows = load_file(
            opened,
            code_col,
            is_events,
            index,
            keep.as_ref(),
            &mut dict,
            opts,
            skipped,
            &mut pieces,
            &mut read_by,
        )?;
        let kept = pieces[first..].iter().map(Piece::kept).sum();
        report
            .inputs
            .push(input_file(table.name(), &opened.path, rows, kept));
        rows_read += rows;
    }
    let read_time = timer.elapsed();
    let earlier = Piece::earlier_rows(&mut pieces, index.len);
    let mut grouped = group(&pieces, index.len, is_events);
    let codes = match keep {
        Some(k) => k.codes,
        None => dict.codes,
    };
    grouped.earlier = earlier.map(Box::new);
    grouped.codes = codes;
    grouped.rows_read = rows_read;
    grouped.read_by = read_by;
    grouped.read_time = read_time;
    grouped.group_time = timer.elapsed() - read_time;
    Ok(grouped)
}

/// One file of an event table: its rows read by the first path that applies, kept rows
/// appended to `pieces`, its orphans settled. Returns its number of rows.
#[allow(clippy::too_many_arguments)]
fn load_file(
    opened: &Opened,
    code_col: &str,
    is_events: bool,
    index: &PatientIndex,
    keep: Option<&KeepSet>,
    dict: &mut CodeDict,
    opts: &LoadOptions,
    skipped: &mut Vec<(String, usize)>,
    pieces: &mut Vec<Piece>,
    read_by: &mut ReadPaths,
) -> Result<usize, ExtractError> {
    let Opened {
        path,
        format,
        columns,
    } = opened;
    let format = *format;
    let shape = RowShape {
        code_col,
        is_events,
        has_comparator: columns.wanted.iter().any(|h| h == "comparator"),
    };
    let frame_ctx = FrameCtx {
        path,
        format,
        columns,
        shape: &shape,
        index,
    };
    let first = pieces.len();
    let direct = match (keep, format) {
        // The page reader finds columns by their names in the file: a renamed one is read by
        // polars' batches, which rename it.
        (Some(keep), Format::Parquet) if !columns.renamed() => load_row_groups(&frame_ctx, keep)?,
        (Some(keep), Format::Csv) => {
            let sizes = opts.csv_window_and_chunk.unwrap_or((CSV_WINDOW, CSV_CHUNK));
            Some(load_csv_lines(&frame_ctx, &columns.wanted, keep, sizes)?)
        }
        _ => None,
    };
    let rows = if let Some(d) = direct {
        pieces.extend(d.pieces);
        *read_by += d.read_by;
        d.rows
    } else {
        for_each_batch(path, format, columns, |frame, offset| {
            let Some(keep) = keep else {
                // Interning every code needs the dictionary mutably: one task per batch.
                let n = frame.height();
                let src = frame_ctx.source(0, n, &frame, offset);
                pieces.push(exact(&src, &shape, index, None, Some(&mut *dict))?);
                read_by.exact_tasks += 1;
                return Ok(());
            };
            let (p, paths) = frame_pieces(&frame_ctx, frame, offset, keep)?;
            pieces.extend(p);
            *read_by += paths;
            Ok(())
        })?
    };
    let orphans = Orphans {
        count: pieces[first..].iter().map(|p| p.orphans).sum(),
        first: pieces[first..].iter().find_map(|p| p.first_orphan),
    };
    let anchor = frame_ctx.source(0, 0, &DataFrame::empty(), 0);
    orphans.settle(&anchor, opts, skipped)?;
    Ok(rows)
}
