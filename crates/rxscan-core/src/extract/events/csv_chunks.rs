//! The CSV path: the file a window of whole lines at a time (`csv_text.rs`: memory-mapped, or
//! decompressed on a thread of its own, never to disk), each window cut at line ends into
//! chunks that `csv_lines.rs` scans in parallel.
//!
//! A chunk the scanner doubts is parsed by polars and read as a batch (`batches.rs`); from the
//! first chunk with a quote character, the rest of the file is (a quoted field may hold a line
//! end, so a cut at a line end is no longer a cut between records).

use std::cell::RefCell;

use rayon::prelude::*;

use super::batches::{frame_pieces, read_csv_block, string_schema, CsvText};
use super::csv_lines;
use super::csv_text::Text;
use super::piece::{Piece, TablePieces};
use super::table::{FrameCtx, KeepSet, RowShape, NOT_KEPT};
use crate::dates::parse_iso_day;
use crate::extract::date_format::DateFormat;
use crate::extract::error::ExtractError;
use crate::extract::model::ReadPaths;
use crate::extract::values::PatientIndex;

/// Bytes of CSV mapped at a time (cut at a line end), and per parallel chunk within it.
pub(super) const CSV_WINDOW: usize = 256 << 20;

pub(super) const CSV_CHUNK: usize = 2 << 20;

/// What the line scanner made of one chunk of CSV.
enum Scanned {
    Rows(Piece, usize),
    /// Something to leave to polars and the exact validators.
    Doubt,
    /// A quote character: from here on, the file is parsed by polars (a quoted field may hold
    /// a line end, so chunks cut at line ends are no longer records).
    Quoted,
}

/// Read a CSV event table with the line scanner (`csv_lines.rs`): the file is memory-mapped a
/// window at a time, each window cut at line ends into chunks scanned in parallel. A chunk
/// the scanner doubts is parsed by polars and read by [`frame_pieces`]; from the first chunk
/// with a quote character, the rest of the file is.
pub(super) fn load_csv_lines(
    ctx: &FrameCtx<'_>,
    wanted: &[String],
    keep: &KeepSet,
    (window_bytes, chunk_bytes): (usize, usize),
) -> Result<TablePieces, ExtractError> {
    let (window_bytes, chunk_bytes) = (window_bytes.max(1), chunk_bytes.max(1));
    let unreadable = |e: &dyn std::fmt::Display| ExtractError::unreadable(ctx.path, e);
    let shape = ctx.shape;
    let roles: Vec<csv_lines::Role> = ctx
        .columns
        .header
        .iter()
        .map(|h| match h.as_str() {
            "patient_id" => csv_lines::Role::Id,
            "date" => csv_lines::Role::Date,
            c if c == shape.code_col => csv_lines::Role::Code,
            "numeric_value" if shape.is_events => csv_lines::Role::Value,
            "comparator" if shape.has_comparator => csv_lines::Role::Comparator,
            _ => csv_lines::Role::Skip,
        })
        .collect();
    let schema = string_schema(&ctx.columns.header);
    let csv_text = CsvText {
        path: ctx.path,
        header: &ctx.columns.header,
        schema: &schema,
        wanted,
    };
    let by_polars = |text: &[u8], quoted: bool, rows: usize| {
        let frame = match read_csv_block(text, quoted, schema.clone(), wanted) {
            Ok(frame) => frame,
            Err(e) => {
                return Err(csv_text.earliest_problem(&e, text, quoted, rows, |fr| {
                    frame_pieces(ctx, fr, rows, keep).map(|_| ())
                }))
            }
        };
        let h = frame.height();
        frame_pieces(ctx, frame, rows, keep).map(|(p, paths)| (p, paths, h))
    };
    let code_of = |c: &str| keep.lookup.get(c).unwrap_or(NOT_KEPT);

    let mut out = TablePieces {
        pieces: Vec::new(),
        rows: 0,
        read_by: ReadPaths::default(),
    };
    let mut text = Text::open(ctx.path, window_bytes).map_err(|e| unreadable(&e))?;
    while let Some((map, cut)) = text.window().map_err(|e| unreadable(&e))? {
        let window = &map[..cut];
        if window.iter().all(|b| b.is_ascii_whitespace()) {
            text.recycle(map);
            continue; // as a batch of blank lines at the end of the file
        }
        // Chunks cut at line ends; a tail of blank lines stays with the chunk before it.
        let mut cuts = vec![0];
        let mut at = 0;
        while at < window.len() {
            at = match memchr::memchr(b'\n', window.get(at + chunk_bytes..).unwrap_or(&[])) {
                Some(i) => at + chunk_bytes + i + 1,
                None => window.len(),
            };
            if window[at..].iter().all(|b| b.is_ascii_whitespace()) {
                at = window.len();
            }
            cuts.push(at);
        }
        let scanned: Vec<Scanned> = cuts
            .par_windows(2)
            .map(|c| {
                let text = &window[c[0]..c[1]];
                let dates = &ctx.columns.date_format;
                if memchr::memchr(b'"', text).is_some() {
                    return Scanned::Quoted;
                }
                scan_chunk(text, &roles, shape, ctx.index, keep, &code_of, dates)
                    .map_or(Scanned::Doubt, |(p, n)| Scanned::Rows(p, n))
            })
            .collect();
        for (k, s) in scanned.into_iter().enumerate() {
            match s {
                Scanned::Rows(mut piece, n) => {
                    if let Some((_, row)) = &mut piece.first_orphan {
                        *row += out.rows;
                    }
                    out.pieces.push(piece);
                    out.rows += n;
                    out.read_by.csv_chunks += 1;
                }
                Scanned::Doubt => {
                    let (p, paths, h) = by_polars(&window[cuts[k]..cuts[k + 1]], false, out.rows)?;
                    out.pieces.extend(p);
                    out.read_by += paths;
                    out.rows += h;
                }
                Scanned::Quoted => {
                    let rest = text.rest(&window[cuts[k]..]).map_err(|e| unreadable(&e))?;
                    let (p, paths, h) = by_polars(&rest, true, out.rows)?;
                    out.pieces.extend(p);
                    out.read_by += paths;
                    out.rows += h;
                    return Ok(out);
                }
            }
        }
        text.recycle(map);
    }
    Ok(out)
}

thread_local! {
    /// The kept rows of one CSV chunk, before they are copied out at their final size.
    static SCANNED: RefCell<Piece> = RefCell::new(Piece::default());
}

/// One chunk through the line scanner: its kept rows and orphans (rows counted from the
/// chunk's start), and its number of lines; `None` on doubt.
fn scan_chunk(
    text: &[u8],
    roles: &[csv_lines::Role],
    shape: &RowShape<'_>,
    index: &PatientIndex,
    keep: &KeepSet,
    code_of: &dyn Fn(&str) -> u32,
    dates: &DateFormat,
) -> Option<(Piece, usize)> {
    SCANNED.with(|k| {
        let kept = &mut *k.borrow_mut();
        kept.rows.clear();
        let mut orphans = 0;
        let mut first_orphan = None;
        let mut record = |i: usize, r: &csv_lines::ScannedLine| {
            if !index.contains(r.id) {
                orphans += 1;
                first_orphan.get_or_insert((r.id, i));
                return;
            }
            if r.code == NOT_KEPT || !keep.keeps_any(r.code, r.day) {
                return;
            }
            let Some(p) = index.get(r.id) else { return };
            kept.rows.patient.push(p);
            kept.rows.day.push(r.day);
            kept.rows.code.push(r.code);
            if shape.is_events {
                kept.rows.value.push(r.value);
                kept.rows.comparator.push(r.comparator);
            }
        };
        let n = match dates {
            DateFormat::Iso => csv_lines::scan(text, roles, code_of, &parse_iso_day, &mut record),
            other => csv_lines::scan(text, roles, code_of, &|s| other.parse(s), &mut record),
        }?;
        kept.set_earlier_apart(keep);
        let piece = Piece {
            rows: kept.rows.clone(),
            orphans,
            first_orphan,
            earlier: kept.earlier.take(),
            earlier_only: std::mem::take(&mut kept.earlier_only),
        };
        Some((piece, n))
    })
}
