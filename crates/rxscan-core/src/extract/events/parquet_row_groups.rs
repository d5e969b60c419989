//! The Parquet path: row groups read in parallel, each decoded page by page by
//! `parquet_pages.rs` into its thread's reused columns, and its kept rows gathered into a piece.
//!
//! A row group the page reader doubts is read through polars' batches instead (`batches.rs`);
//! a file whose schema the page reader does not take, or with a row group too large for it,
//! is read in batches whole.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};

use polars::prelude::*;
use rayon::prelude::*;

use super::batches::frame_pieces;
use super::earlier;
use super::parquet_pages;
use super::piece::{KeptColumns, Piece, TablePieces};
use super::table::{FrameCtx, KeepSet, RowShape, NOT_KEPT};
use crate::extract::error::ExtractError;
use crate::extract::files::read_parquet_slice;
use crate::extract::model::ReadPaths;

/// Row groups larger than this go through polars' batches (the page reader holds a whole row
/// group's decided columns per thread).
const MAX_DIRECT_ROWS: usize = 1 << 24;

/// Read a Parquet table with the page reader (`parquet_pages.rs`), row groups in parallel. A row
/// group it doubts is read through polars and [`frame_pieces`] instead. `None` when the
/// file's schema does not fit the page reader, and the caller reads the file in batches.
pub(super) fn load_row_groups(
    ctx: &FrameCtx<'_>,
    keep: &KeepSet,
) -> Result<Option<TablePieces>, ExtractError> {
    let unreadable = |e: &dyn std::fmt::Display| ExtractError::unreadable(ctx.path, e);
    let file = std::fs::File::open(ctx.path).map_err(|e| unreadable(&e))?;
    let mut reader = ParquetReader::new(file);
    let metadata = reader.get_metadata().map_err(|e| unreadable(&e))?.clone();
    let schema = reader.schema().map_err(|e| unreadable(&e))?;
    let cols = parquet_pages::Columns {
        code: ctx.shape.code_col,
        value: ctx.shape.is_events.then_some("numeric_value"),
        comparator: ctx.shape.has_comparator.then_some("comparator"),
    };
    if !parquet_pages::schema_fits(&schema, &cols)
        || metadata
            .row_groups
            .iter()
            .any(|rg| rg.num_rows() > MAX_DIRECT_ROWS)
    {
        return Ok(None);
    }
    let mut first = Vec::with_capacity(metadata.row_groups.len());
    let mut rows = 0;
    for rg in &metadata.row_groups {
        first.push(rows);
        rows += rg.num_rows();
    }
    let code_of = |c: &str| keep.lookup.get(c).unwrap_or(NOT_KEPT);
    let failed = AtomicUsize::new(usize::MAX);
    let done: Vec<Result<(Vec<Piece>, ReadPaths), ExtractError>> = metadata
        .row_groups
        .par_iter()
        .enumerate()
        .map(|(g, rg)| {
            if failed.load(Ordering::Relaxed) < g {
                return Ok((Vec::new(), ReadPaths::default())); // an earlier error is reported
            }
            let direct = DECODED.with(|d| {
                let d = &mut *d.borrow_mut();
                let mut file = std::fs::File::open(ctx.path).ok()?;
                let patient_of = |id: i64| ctx.index.get(id);
                parquet_pages::decode_row_group(&mut file, rg, &cols, &patient_of, &code_of, d)?;
                let paths = ReadPaths {
                    row_groups: 1,
                    dictionary_pages: d.dictionary_pages,
                    plain_pages: d.plain_pages,
                    ..ReadPaths::default()
                };
                Some((decided_piece(d, ctx.shape, keep, first[g]), paths))
            });
            let r = match direct {
                Some((p, paths)) => Ok((vec![p], paths)),
                None => read_parquet_slice(
                    ctx.path,
                    ctx.columns,
                    Some((first[g], rg.num_rows())),
                    Some(&metadata),
                )
                .map_err(|e| unreadable(&e))
                .and_then(|frame| frame_pieces(ctx, frame, first[g], keep)),
            };
            if r.is_err() {
                failed.fetch_min(g, Ordering::Relaxed);
            }
            r
        })
        .collect();
    let mut out = TablePieces {
        pieces: Vec::new(),
        rows,
        read_by: ReadPaths::default(),
    };
    for r in done {
        let (p, paths) = r?;
        out.pieces.extend(p);
        out.read_by += paths;
    }
    Ok(Some(out))
}

thread_local! {
    static DECODED: RefCell<parquet_pages::Decoded> =
        RefCell::new(parquet_pages::Decoded::default());
}

/// The kept rows of one decoded row group (its first row is row `first` of the file), and its
/// orphans.
fn decided_piece(
    d: &parquet_pages::Decoded,
    shape: &RowShape<'_>,
    keep: &KeepSet,
    first: usize,
) -> Piece {
    let mut piece = Piece::default();
    KEPT.with(|k| {
        let kept = &mut *k.borrow_mut();
        kept.clear();
        // Orphans: counted without branches, located only when there are any.
        piece.orphans = d
            .patient
            .iter()
            .filter(|&&p| p >= parquet_pages::ORPHAN)
            .count();
        if piece.orphans > 0 {
            piece.first_orphan = d
                .patient
                .iter()
                .position(|&p| p >= parquet_pages::ORPHAN)
                .map(|i| {
                    (
                        d.orphan_ids[(d.patient[i] - parquet_pages::ORPHAN) as usize],
                        first + i,
                    )
                });
        }
        // Rows with a kept code (about one in ten), gathered without branches, then checked.
        kept.resize(d.code.len(), (0, 0));
        let mut m = 0;
        for (i, &code) in d.code.iter().enumerate() {
            kept[m].0 = i as u32;
            m += (code != NOT_KEPT) as usize;
        }
        kept.truncate(m);
        // Counting's rows stay in `kept`; with history, a row of a kept code dated before its
        // group's day, of an admitted patient (never an orphan), is also a candidate for the
        // earlier rows. The columns are cut to one length, so that a row costs one bounds check.
        let n = d.code.len();
        let (patient, code, day) = (&d.patient[..n], &d.code[..n], &d.day[..n]);
        let spans = keep.spans();
        let earlier = CANDIDATES.with(|c| {
            let candidates = &mut *c.borrow_mut();
            candidates.clear();
            let mut w = 0;
            for r in 0..kept.len() {
                let i = kept[r].0 as usize;
                let (p, on) = (patient[i], day[i]);
                let s = spans[code[i] as usize];
                kept[w] = (i as u32, p);
                w += (p < parquet_pages::ORPHAN && s.lo <= on && on <= s.hi) as usize;
                // Rarely taken but for a patient's old tests.
                if on < s.before && keep.admits(p) {
                    candidates.push((i as u32, p));
                }
            }
            kept.truncate(w);
            earlier::latest(keep, candidates, code, day)
        });
        let cols = KeptColumns {
            day: &d.day,
            code: &d.code,
            value: &d.value,
            comparator: &d.comparator,
        };
        piece.rows.fill(kept, &cols, shape.is_events);
        piece.set_earlier(keep, &earlier, &cols, shape.is_events);
    });
    piece
}

thread_local! {
    /// Kept rows of one task or row group: (row, patient).
    static KEPT: RefCell<Vec<(u32, u32)>> = const { RefCell::new(Vec::new()) };
    /// Candidates for the earlier rows of one row group: (row, patient).
    static CANDIDATES: RefCell<Vec<(u32, u32)>> = const { RefCell::new(Vec::new()) };
}
