//! Loading the two event tables (`medications`, `clinical_events`): the hot part of a load.
//!
//! A real record is mostly rows that cannot change any result, so the design is to touch each
//! row as little as possible while still validating every one of them. A table takes the
//! first of three paths that applies, each in parallel:
//!
//! - **Parquet, page by page** ([`load_row_groups`], `pages.rs`): row groups decoded from
//!   their pages, a dictionary entry decided once and each row a 4-byte index into it.
//! - **CSV, line by line** ([`load_csv_lines`], `csvrows.rs`): the file memory-mapped a window
//!   at a time and cut at line ends into chunks whose fields are converted as they are found.
//! - **polars' batches** ([`for_each_batch`], [`frame_pieces`]): everything else (no keep set,
//!   a schema the page reader does not take, and any row group or chunk the first two doubt):
//!   polars reads Parquet row slices or CSV blocks, and 64k-row tasks read its arrow arrays
//!   directly (a code resolved once per distinct 16-byte view), with the exact validators
//!   behind them.
//!
//! In all three:
//!
//! - **Predicate push-down.** A row is kept only when its code is in the keep set *and* its
//!   date falls in that code's span (the union of the windows that read it over the scanned
//!   index dates, [`crate::scan::rows::for_dates`]).
//! - **Exact path on doubt.** A fast path accepts only values that are plainly valid. On
//!   anything else (a null, padding to trim, a bad value, an unexpected column type) it gives
//!   up on its row group, chunk or task, and the exact column validators of `load.rs` read the
//!   same rows again: they report the first problem with file, line, column and value, or keep
//!   the same rows. Error messages are therefore those of one implementation, whichever path
//!   ran; [`ReadPaths`] records which did.
//! - **Grouping.** Kept rows stay in their pieces, in input order; a counting sort writes them
//!   straight into the final per-patient columns, each thread owning a range of patients
//!   (stable, so rows of one patient keep their input order).

mod csv_lines;
mod parquet_pages;

use std::cell::RefCell;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use polars::prelude::*;
use polars_arrow::array::{Array, PrimitiveArray, Utf8ViewArray};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::csv_diagnose::diagnose_csv;
use super::files::{open_table, read_parquet_slice};
use super::source::{Format, Orphans, Source};
use super::values::{digits, parse_number, CodeDict, FixedCodes, PatientIndex};
use super::{Comparator, EventTable, ExtractError, KeepCode, LoadOptions, ReadPaths};
use crate::dates::{self, Day};
use crate::plan::Table;

/// Rows per Parquet batch, and bytes per CSV batch: a table is converted batch by batch so
/// that only one batch of raw values is in memory at a time.
const BATCH_ROWS: usize = 1 << 22;
const BATCH_BYTES: usize = 192 << 20;
/// Rows per parallel task inside a batch.
const TASK_ROWS: usize = 1 << 16;
/// A code outside the keep set.
const NOT_KEPT: u32 = u32::MAX;

/// The codes worth keeping for one table, with their date spans.
struct KeepSet {
    lookup: FixedCodes,
    codes: Vec<String>,
    /// Inclusive date span per code id.
    spans: Vec<(Day, Day)>,
}

impl KeepSet {
    fn new(list: &[KeepCode]) -> KeepSet {
        let mut merged: FxHashMap<&str, (Day, Day)> = FxHashMap::default();
        for k in list {
            let e = merged.entry(k.code.trim()).or_insert((k.from, k.to));
            *e = (e.0.min(k.from), e.1.max(k.to));
        }
        let mut codes: Vec<(&str, (Day, Day))> = merged.into_iter().collect();
        codes.sort_unstable();
        let ids: FxHashMap<String, u32> = codes
            .iter()
            .enumerate()
            .map(|(i, (c, _))| (c.to_string(), i as u32))
            .collect();
        KeepSet {
            lookup: FixedCodes::new(&ids),
            spans: codes.iter().map(|(_, s)| *s).collect(),
            codes: codes.into_iter().map(|(c, _)| c.to_string()).collect(),
        }
    }

    #[inline]
    fn keeps(&self, code: u32, day: Day) -> bool {
        let (lo, hi) = self.spans[code as usize];
        lo <= day && day <= hi
    }
}

/// The rows of one task that survive, in input order.
#[derive(Default)]
struct Piece {
    patient: Vec<u32>,
    day: Vec<Day>,
    code: Vec<u32>,
    value: Vec<f64>,
    comparator: Vec<u8>,
    orphans: usize,
    first_orphan: Option<(i64, usize)>,
}

pub(super) fn load_events(
    dir: &Path,
    table: Table,
    index: &PatientIndex,
    opts: &LoadOptions,
    skipped: &mut Vec<(String, usize)>,
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
    let (path, format, header, wanted) = open_table(dir, table.name(), &required, optional)?;
    let keep = match table {
        Table::Medications => opts.keep_medication_codes.as_deref(),
        Table::ClinicalEvents => opts.keep_event_codes.as_deref(),
    }
    .map(KeepSet::new);
    let has_comparator = header.iter().any(|h| h == "comparator");
    let shape = Shape {
        code_col,
        is_events,
        has_comparator,
    };
    let mut dict = CodeDict::default();

    let timer = std::time::Instant::now();
    let mut pieces: Vec<Piece> = Vec::new();
    let mut read_by = ReadPaths::default();
    let frame_ctx = FrameCtx {
        path: &path,
        format,
        header: &header,
        shape: &shape,
        index,
    };
    let direct = match (&keep, format) {
        (Some(keep), Format::Parquet) => load_row_groups(&frame_ctx, &wanted, keep)?,
        (Some(keep), Format::Csv) => {
            let sizes = opts.csv_window_and_chunk.unwrap_or((CSV_WINDOW, CSV_CHUNK));
            Some(load_csv_lines(&frame_ctx, &wanted, keep, sizes)?)
        }
        _ => None,
    };
    let rows_read = if let Some(d) = direct {
        pieces = d.pieces;
        read_by = d.read_by;
        d.rows
    } else {
        for_each_batch(&path, format, &header, &wanted, |frame, offset| {
            let Some(keep) = &keep else {
                // Interning every code needs the dictionary mutably: one task per batch.
                let n = frame.height();
                let src = frame_ctx.source(0, n, &frame, offset);
                pieces.push(exact(&src, &shape, index, None, Some(&mut dict))?);
                read_by.exact_tasks += 1;
                return Ok(());
            };
            let (p, paths) = frame_pieces(&frame_ctx, frame, offset, keep)?;
            pieces.extend(p);
            read_by += paths;
            Ok(())
        })?
    };
    let orphans = Orphans {
        count: pieces.iter().map(|p| p.orphans).sum(),
        first: pieces.iter().find_map(|p| p.first_orphan),
    };
    let anchor = Source {
        path: path.clone(),
        format,
        header: header.clone(),
        frame: DataFrame::empty(),
        row_offset: 0,
    };
    orphans.settle(&anchor, opts, skipped)?;
    let read_time = timer.elapsed();
    let mut grouped = group(&pieces, index.len, is_events);
    grouped.codes = match keep {
        Some(k) => k.codes,
        None => dict.codes,
    };
    grouped.rows_read = rows_read;
    grouped.read_by = read_by;
    grouped.read_time = read_time;
    grouped.group_time = timer.elapsed() - read_time;
    Ok(grouped)
}

/// What a batch's rows need besides the frame: where they came from, for messages.
struct FrameCtx<'a> {
    path: &'a Path,
    format: Format,
    header: &'a [String],
    shape: &'a Shape<'a>,
    index: &'a PatientIndex,
}

impl FrameCtx<'_> {
    /// `len` rows of `frame` from `start`, the frame's first row being row `offset` of the file.
    fn source(&self, start: usize, len: usize, frame: &DataFrame, offset: usize) -> Source {
        Source {
            path: self.path.to_path_buf(),
            format: self.format,
            header: self.header.to_vec(),
            frame: frame.slice(start as i64, len),
            row_offset: offset + start,
        }
    }
}

/// One batch read by polars: its 64k-row tasks in parallel, each by the fast pass over the
/// arrays or, on doubt, the exact validators. Returns the pieces in order and how many tasks
/// took each path.
fn frame_pieces(
    ctx: &FrameCtx<'_>,
    mut frame: DataFrame,
    offset: usize,
    keep: &KeepSet,
) -> Result<(Vec<Piece>, ReadPaths), ExtractError> {
    frame.align_chunks_par();
    let arrays = BatchArrays::new(&frame, ctx.shape);
    let tasks = task_list(&frame, arrays.as_ref(), offset);
    let failed = AtomicUsize::new(usize::MAX);
    let done: Vec<Result<(Piece, bool), ExtractError>> = tasks
        .par_iter()
        .enumerate()
        .map(|(t, task)| {
            if failed.load(Ordering::Relaxed) < t {
                return Ok((Piece::default(), false)); // an earlier task's error is reported
            }
            let fast = arrays.as_ref().and_then(|a| {
                SCRATCH.with(|s| fast(a, task, ctx.shape, ctx.index, keep, &mut s.borrow_mut()))
            });
            let r = match fast {
                Some(p) => Ok((p, true)),
                None => exact(
                    &ctx.source(task.row, task.len, &frame, offset),
                    ctx.shape,
                    ctx.index,
                    Some(keep),
                    None,
                )
                .map(|p| (p, false)),
            };
            if r.is_err() {
                failed.fetch_min(t, Ordering::Relaxed);
            }
            r
        })
        .collect();
    let mut pieces = Vec::with_capacity(done.len());
    let mut paths = ReadPaths::default();
    for r in done {
        let (p, was_fast) = r?;
        paths.fast_tasks += was_fast as usize;
        paths.exact_tasks += !was_fast as usize;
        pieces.push(p);
    }
    Ok((pieces, paths))
}

/// A Parquet table read row group by row group.
struct RowGroups {
    pieces: Vec<Piece>,
    rows: usize,
    read_by: ReadPaths,
}

/// Row groups larger than this go through polars' batches (the page reader holds a whole row
/// group's decided columns per thread).
const MAX_DIRECT_ROWS: usize = 1 << 24;

/// Read a Parquet table with the page reader (`pages.rs`), row groups in parallel. A row
/// group it doubts is read through polars and [`frame_pieces`] instead. `None` when the
/// file's schema does not fit the page reader, and the caller reads the file in batches.
fn load_row_groups(
    ctx: &FrameCtx<'_>,
    wanted: &[String],
    keep: &KeepSet,
) -> Result<Option<RowGroups>, ExtractError> {
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
                    wanted,
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
    let mut out = RowGroups {
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

/// Bytes of CSV mapped at a time (cut at a line end), and per parallel chunk within it.
const CSV_WINDOW: usize = 256 << 20;
const CSV_CHUNK: usize = 2 << 20;

/// What the line scanner made of one chunk of CSV.
enum Scanned {
    Rows(Piece, usize),
    /// Something to leave to polars and the exact validators.
    Doubt,
    /// A quote character: from here on, the file is parsed by polars (a quoted field may hold
    /// a line end, so chunks cut at line ends are no longer records).
    Quoted,
}

/// Read a CSV event table with the line scanner (`csvrows.rs`): the file is memory-mapped a
/// window at a time, each window cut at line ends into chunks scanned in parallel. A chunk
/// the scanner doubts is parsed by polars and read by [`frame_pieces`]; from the first chunk
/// with a quote character, the rest of the file is.
fn load_csv_lines(
    ctx: &FrameCtx<'_>,
    wanted: &[String],
    keep: &KeepSet,
    (window_bytes, chunk_bytes): (usize, usize),
) -> Result<RowGroups, ExtractError> {
    let (window_bytes, chunk_bytes) = (window_bytes.max(1), chunk_bytes.max(1));
    use std::io::{Read, Seek, SeekFrom};
    let unreadable = |e: &dyn std::fmt::Display| ExtractError::unreadable(ctx.path, e);
    let shape = ctx.shape;
    let roles: Vec<csv_lines::Role> = ctx
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
    let schema = string_schema(ctx.header);
    let csv_text = CsvText {
        path: ctx.path,
        header: ctx.header,
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

    let mut file = std::fs::File::open(ctx.path).map_err(|e| unreadable(&e))?;
    let len = file.metadata().map_err(|e| unreadable(&e))?.len() as usize;
    let mut out = RowGroups {
        pieces: Vec::new(),
        rows: 0,
        read_by: ReadPaths::default(),
    };
    // The data starts after the header line.
    let mut pos = {
        let mut head = Vec::new();
        (&mut file)
            .take(1 << 20)
            .read_to_end(&mut head)
            .map_err(|e| unreadable(&e))?;
        match memchr::memchr(b'\n', &head) {
            Some(i) => i + 1,
            None if head.len() < 1 << 20 => len, // a header and no rows
            None => return Err(unreadable(&"the header line is longer than 1 MiB")),
        }
    };
    while pos < len {
        // A window of whole lines: grown until it holds a line end (or reaches the end).
        let mut size = window_bytes;
        let (map, cut) = loop {
            // SAFETY: the map is read-only and dropped before the next; rxscan does not write
            // the file, and a file changed by another process while it is scanned is outside
            // what any reader can promise.
            let map = unsafe {
                memmap2::MmapOptions::new()
                    .offset(pos as u64)
                    .len(size.min(len - pos))
                    .map(&file)
            }
            .map_err(|e| unreadable(&e))?;
            if pos + map.len() == len {
                let n = map.len();
                break (map, n);
            }
            if let Some(i) = memchr::memrchr(b'\n', &map) {
                break (map, i + 1);
            }
            size = size.saturating_mul(2);
        };
        let window = &map[..cut];
        pos += window.len();
        if window.iter().all(|b| b.is_ascii_whitespace()) {
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
                if memchr::memchr(b'"', text).is_some() {
                    return Scanned::Quoted;
                }
                scan_chunk(text, &roles, shape, ctx.index, keep, &code_of)
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
                    let from = pos - window.len() + cuts[k];
                    drop(map);
                    let mut rest = Vec::with_capacity(len - from);
                    file.seek(SeekFrom::Start(from as u64))
                        .and_then(|_| file.read_to_end(&mut rest))
                        .map_err(|e| unreadable(&e))?;
                    let (p, paths, h) = by_polars(&rest, true, out.rows)?;
                    out.pieces.extend(p);
                    out.read_by += paths;
                    out.rows += h;
                    return Ok(out);
                }
            }
        }
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
    shape: &Shape<'_>,
    index: &PatientIndex,
    keep: &KeepSet,
    code_of: &dyn Fn(&str) -> u32,
) -> Option<(Piece, usize)> {
    SCANNED.with(|k| {
        let kept = &mut *k.borrow_mut();
        kept.patient.clear();
        kept.day.clear();
        kept.code.clear();
        kept.value.clear();
        kept.comparator.clear();
        let mut orphans = 0;
        let mut first_orphan = None;
        let n = csv_lines::scan(text, roles, code_of, |i, r| {
            if !index.contains(r.id) {
                orphans += 1;
                first_orphan.get_or_insert((r.id, i));
                return;
            }
            if r.code == NOT_KEPT || !keep.keeps(r.code, r.day) {
                return;
            }
            let Some(p) = index.get(r.id) else { return };
            kept.patient.push(p);
            kept.day.push(r.day);
            kept.code.push(r.code);
            if shape.is_events {
                kept.value.push(r.value);
                kept.comparator.push(r.comparator);
            }
        })?;
        let piece = Piece {
            patient: kept.patient.clone(),
            day: kept.day.clone(),
            code: kept.code.clone(),
            value: kept.value.clone(),
            comparator: kept.comparator.clone(),
            orphans,
            first_orphan,
        };
        Some((piece, n))
    })
}

thread_local! {
    static DECODED: RefCell<parquet_pages::Decoded> = RefCell::new(parquet_pages::Decoded::default());
}

/// The kept rows of one decoded row group (its first row is row `first` of the file), and its
/// orphans.
fn decided_piece(
    d: &parquet_pages::Decoded,
    shape: &Shape<'_>,
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
        kept.retain_mut(|(i, p)| {
            let i = *i as usize;
            *p = d.patient[i];
            *p < parquet_pages::ORPHAN && keep.keeps(d.code[i], d.day[i])
        });
        let cols = KeptColumns {
            day: &d.day,
            code: &d.code,
            value: &d.value,
            comparator: &d.comparator,
        };
        piece.fill(kept, &cols, shape.is_events);
    });
    piece
}

thread_local! {
    /// Kept rows of one task or row group: (row, patient).
    static KEPT: RefCell<Vec<(u32, u32)>> = const { RefCell::new(Vec::new()) };
}

/// A task's or row group's columns, one entry per row (`comparator` may be empty).
struct KeptColumns<'a> {
    day: &'a [Day],
    code: &'a [u32],
    value: &'a [f64],
    comparator: &'a [u8],
}

impl Piece {
    /// Append the `kept` rows, each column allocated once at its final size (growing them row
    /// by row made the kernel zero each doubling's fresh pages: a third of a 60-date scan).
    fn fill(&mut self, kept: &[(u32, u32)], cols: &KeptColumns<'_>, is_events: bool) {
        let rows = || kept.iter().map(|&(i, _)| i as usize);
        self.patient.extend(kept.iter().map(|&(_, p)| p));
        self.day.extend(rows().map(|i| cols.day[i]));
        self.code.extend(rows().map(|i| cols.code[i]));
        if is_events {
            self.value.extend(rows().map(|i| cols.value[i]));
            self.comparator
                .extend(rows().map(|i| cols.comparator.get(i).copied().unwrap_or(0)));
        }
    }
}

/// What an event table's columns are called and which it has.
struct Shape<'a> {
    code_col: &'a str,
    is_events: bool,
    has_comparator: bool,
}

/// A task: `len` rows from row `start` of chunk `chunk`; `row` within the batch, `first`
/// within the file.
struct Task {
    chunk: usize,
    start: usize,
    row: usize,
    first: usize,
    len: usize,
}

fn task_list(frame: &DataFrame, arrays: Option<&BatchArrays<'_>>, offset: usize) -> Vec<Task> {
    let chunk_lens: Vec<usize> = match arrays {
        Some(a) => a.chunks.iter().map(|c| c.len).collect(),
        None => vec![frame.height()],
    };
    let mut tasks = Vec::new();
    let mut row = 0;
    for (chunk, &n) in chunk_lens.iter().enumerate() {
        let mut start = 0;
        while start < n {
            let len = TASK_ROWS.min(n - start);
            tasks.push(Task {
                chunk,
                start,
                row: row + start,
                first: offset + row + start,
                len,
            });
            start += len;
        }
        row += n;
    }
    tasks
}

enum Ids<'a> {
    I64(&'a PrimitiveArray<i64>),
    Str(&'a Utf8ViewArray),
}

enum Days<'a> {
    Date(&'a PrimitiveArray<i32>),
    Str(&'a Utf8ViewArray),
}

enum Values<'a> {
    Absent,
    F64(&'a PrimitiveArray<f64>),
    Str(&'a Utf8ViewArray),
}

/// One chunk's arrays, all of the same length.
struct ChunkArrays<'a> {
    len: usize,
    ids: Ids<'a>,
    days: Days<'a>,
    codes: &'a Utf8ViewArray,
    values: Values<'a>,
    comparators: Option<&'a Utf8ViewArray>,
}

struct BatchArrays<'a> {
    chunks: Vec<ChunkArrays<'a>>,
}

impl<'a> BatchArrays<'a> {
    /// The arrays of a batch whose columns have the types the fast path reads; `None` sends
    /// every task of the batch to the exact path (which names an unexpected type).
    fn new(frame: &'a DataFrame, shape: &Shape<'_>) -> Option<BatchArrays<'a>> {
        let series = |name: &str| frame.column(name).ok().map(|c| c.as_materialized_series());
        let strs = |s: &'a Series| -> Option<Vec<&'a Utf8ViewArray>> {
            Some(s.str().ok()?.downcast_iter().collect())
        };
        let id_s = series("patient_id")?;
        let ids: Vec<Ids<'a>> = match id_s.dtype() {
            DataType::Int64 => id_s.i64().ok()?.downcast_iter().map(Ids::I64).collect(),
            DataType::String => strs(id_s)?.into_iter().map(Ids::Str).collect(),
            _ => return None,
        };
        let day_s = series("date")?;
        let days: Vec<Days<'a>> = match day_s.dtype() {
            DataType::Date => day_s
                .date()
                .ok()?
                .physical()
                .downcast_iter()
                .map(Days::Date)
                .collect(),
            DataType::String => strs(day_s)?.into_iter().map(Days::Str).collect(),
            _ => return None,
        };
        let code_s = series(shape.code_col)?;
        if code_s.dtype() != &DataType::String {
            return None;
        }
        let codes = strs(code_s)?;
        let n = codes.len();
        let values: Vec<Values<'a>> = if shape.is_events {
            let s = series("numeric_value")?;
            match s.dtype() {
                DataType::Float64 => s.f64().ok()?.downcast_iter().map(Values::F64).collect(),
                DataType::String => strs(s)?.into_iter().map(Values::Str).collect(),
                _ => return None,
            }
        } else {
            (0..n).map(|_| Values::Absent).collect()
        };
        let comparators: Vec<Option<&'a Utf8ViewArray>> = if shape.has_comparator {
            let s = series("comparator")?;
            if s.dtype() != &DataType::String {
                return None;
            }
            strs(s)?.into_iter().map(Some).collect()
        } else {
            vec![None; n]
        };
        if ids.len() != n || days.len() != n || values.len() != n || comparators.len() != n {
            return None;
        }
        let mut chunks = Vec::with_capacity(n);
        for ((((ids, days), codes), values), comparators) in ids
            .into_iter()
            .zip(days)
            .zip(codes)
            .zip(values)
            .zip(comparators)
        {
            let len = codes.len();
            let same = |l: usize| l == len;
            let lens_match = same(match &ids {
                Ids::I64(a) => a.len(),
                Ids::Str(a) => a.len(),
            }) && same(match &days {
                Days::Date(a) => a.len(),
                Days::Str(a) => a.len(),
            }) && match &values {
                Values::Absent => true,
                Values::F64(a) => same(a.len()),
                Values::Str(a) => same(a.len()),
            } && comparators.is_none_or(|a| same(a.len()));
            if !lens_match {
                return None;
            }
            chunks.push(ChunkArrays {
                len,
                ids,
                days,
                codes,
                values,
                comparators,
            });
        }
        Some(BatchArrays { chunks })
    }
}

/// A small open-addressing cache from a 16-byte view to a resolved `u32`, cleared per task
/// (a view that points into a buffer identifies its bytes only within one array).
struct ViewCache {
    keys: Vec<u128>,
    vals: Vec<u32>,
    stamp: Vec<u32>,
    generation: u32,
    used: usize,
}

const CACHE_BITS: u32 = 13;
const CACHE_SLOTS: usize = 1 << CACHE_BITS;

impl ViewCache {
    fn new() -> ViewCache {
        ViewCache {
            keys: vec![0; CACHE_SLOTS],
            vals: vec![0; CACHE_SLOTS],
            stamp: vec![0; CACHE_SLOTS],
            generation: 1,
            used: 0,
        }
    }

    fn clear(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamp.fill(0);
            self.generation = 1;
        }
        self.used = 0;
    }

    /// The cached value for `key`, or `resolve()`'s, remembered. `None` when `resolve` fails.
    #[inline]
    fn get(&mut self, key: u128, resolve: impl FnOnce() -> Option<u32>) -> Option<u32> {
        let x = (key as u64) ^ ((key >> 64) as u64).rotate_left(29);
        let mut slot = (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - CACHE_BITS)) as usize;
        for _ in 0..8 {
            if self.stamp[slot] != self.generation {
                let v = resolve()?;
                if self.used >= CACHE_SLOTS / 2 {
                    self.clear();
                }
                self.keys[slot] = key;
                self.vals[slot] = v;
                self.stamp[slot] = self.generation;
                self.used += 1;
                return Some(v);
            }
            if self.keys[slot] == key {
                return Some(self.vals[slot]);
            }
            slot = (slot + 1) & (CACHE_SLOTS - 1);
        }
        resolve()
    }
}

/// Per-thread scratch space, reused by every task the thread runs.
struct Scratch {
    /// Rows (within the task) whose code is kept.
    candidates: Vec<u32>,
    /// Rows kept, with their patient.
    kept: Vec<(u32, u32)>,
    ids: Vec<i64>,
    code: Vec<u32>,
    day: Vec<Day>,
    value: Vec<f64>,
    comparator: Vec<u8>,
    codes: ViewCache,
    days: ViewCache,
    comparators: ViewCache,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch {
        candidates: Vec::new(),
        kept: Vec::new(),
        ids: Vec::new(),
        code: Vec::new(),
        day: Vec::new(),
        value: Vec::new(),
        comparator: Vec::new(),
        codes: ViewCache::new(),
        days: ViewCache::new(),
        comparators: ViewCache::new(),
    });
}

/// A patient id that is plainly valid: 1 to 18 digits, nothing else.
#[inline]
fn plain_id(s: &str) -> Option<i64> {
    digits(s).map(|v| v as i64)
}

fn no_nulls(a: &dyn Array, start: usize, len: usize) -> bool {
    a.null_count() == 0
        || a.validity()
            .is_none_or(|v| v.clone().sliced(start, len).unset_bits() == 0)
}

#[inline]
fn valid(a: &dyn Array, i: usize) -> bool {
    a.validity().is_none_or(|v| v.get_bit(i))
}

/// The fast pass over one task (see the module docs); `None` hands the task to the exact path.
fn fast(
    arrays: &BatchArrays<'_>,
    task: &Task,
    shape: &Shape<'_>,
    index: &PatientIndex,
    keep: &KeepSet,
    s: &mut Scratch,
) -> Option<Piece> {
    let c = &arrays.chunks[task.chunk];
    let (start, len) = (task.start, task.len);
    let end = start + len;
    let mut piece = Piece::default();

    // Codes: resolved once per distinct view.
    if !no_nulls(c.codes, start, len) {
        return None;
    }
    s.code.clear();
    s.candidates.clear();
    s.codes.clear();
    // Views of long strings identify a dictionary entry only when the array's buffers are
    // small (decoded from a Parquet dictionary); a CSV block has one string per row.
    let cache_long = c.codes.total_buffer_len() < c.codes.len();
    let views = c.codes.views();
    for i in start..end {
        let v = views[i];
        let resolve = || {
            // SAFETY: `i < len` of the array.
            let t = unsafe { c.codes.value_unchecked(i) }.trim();
            if t.is_empty() {
                return None;
            }
            Some(keep.lookup.get(t).unwrap_or(NOT_KEPT))
        };
        let id = if v.is_inline() || cache_long {
            s.codes.get(v.as_u128(), resolve)?
        } else {
            resolve()?
        };
        s.code.push(id);
        if id != NOT_KEPT {
            s.candidates.push((i - start) as u32);
        }
    }

    // Dates.
    s.day.clear();
    match &c.days {
        Days::Date(a) => {
            if !no_nulls(*a, start, len) {
                return None;
            }
            let lo = dates::from_ymd(dates::MIN_YEAR, 1, 1).unwrap_or(Day::MIN);
            let hi = dates::from_ymd(dates::MAX_YEAR, 12, 31).unwrap_or(Day::MAX - 1);
            let vals = &a.values()[start..end];
            let (mn, mx) = vals
                .iter()
                .fold((Day::MAX, Day::MIN), |(mn, mx), &d| (mn.min(d), mx.max(d)));
            if mn < lo || mx > hi {
                return None;
            }
            s.day.extend_from_slice(vals);
        }
        Days::Str(a) => {
            if !no_nulls(*a, start, len) {
                return None;
            }
            s.days.clear();
            let views = a.views();
            for i in start..end {
                let v = views[i];
                if !v.is_inline() {
                    return None;
                }
                let d = s.days.get(v.as_u128(), || {
                    // SAFETY: `i < len` of the array.
                    dates::parse_iso(unsafe { a.value_unchecked(i) }).map(|d| d as u32)
                })?;
                s.day.push(d as Day);
            }
        }
    }

    // Patients: every row's must be known (or is counted as an orphan); only kept rows need
    // the dense index, looked up below.
    let orphan = |id: i64, i: usize, piece: &mut Piece| {
        piece.orphans += 1;
        if piece.first_orphan.is_none() {
            piece.first_orphan = Some((id, task.first + (i - start)));
        }
    };
    let ids: &[i64] = match &c.ids {
        Ids::I64(a) => {
            if !no_nulls(*a, start, len) {
                return None;
            }
            &a.values()[start..end]
        }
        Ids::Str(a) => {
            if !no_nulls(*a, start, len) {
                return None;
            }
            s.ids.clear();
            for i in start..end {
                // SAFETY: `i < len` of the array.
                s.ids.push(plain_id(unsafe { a.value_unchecked(i) })?);
            }
            &s.ids
        }
    };
    for (i, &id) in ids.iter().enumerate() {
        if id < 0 {
            return None;
        }
        if !index.contains(id) {
            orphan(id, start + i, &mut piece);
        }
    }

    // Values and comparators (clinical events): validated on every row.
    s.value.clear();
    match &c.values {
        Values::Absent => {}
        Values::F64(a) => {
            let vals = &a.values()[start..end];
            if a.null_count() == 0 {
                if !vals.iter().all(|x| x.is_finite()) {
                    return None;
                }
                s.value.extend_from_slice(vals);
            } else {
                for (i, &x) in vals.iter().enumerate() {
                    if !valid(*a, start + i) {
                        s.value.push(f64::NAN);
                    } else if x.is_finite() {
                        s.value.push(x);
                    } else {
                        return None;
                    }
                }
            }
        }
        Values::Str(a) => {
            for i in start..end {
                if !valid(*a, i) {
                    s.value.push(f64::NAN);
                    continue;
                }
                // SAFETY: `i < len` of the array.
                let t = unsafe { a.value_unchecked(i) };
                s.value.push(if t.is_empty() {
                    f64::NAN
                } else {
                    parse_number(t)?
                });
            }
        }
    }
    s.comparator.clear();
    if let Some(a) = c.comparators {
        s.comparators.clear();
        s.comparator.resize(len, Comparator::None as u8);
        let views = a.views();
        for i in start..end {
            if !valid(a, i) {
                continue;
            }
            let v = views[i];
            if !v.is_inline() {
                return None;
            }
            let cmp = s.comparators.get(v.as_u128(), || {
                // SAFETY: `i < len` of the array.
                Comparator::parse(unsafe { a.value_unchecked(i) }.trim()).map(|c| c as u32)
            })?;
            s.comparator[i - start] = cmp as u8;
        }
    }

    // Keep the rows that matter.
    s.kept.clear();
    for &i in &s.candidates {
        let i = i as usize;
        if !keep.keeps(s.code[i], s.day[i]) {
            continue;
        }
        if let Some(p) = index.get(ids[i]) {
            s.kept.push((i as u32, p));
        }
    }
    let cols = KeptColumns {
        day: &s.day,
        code: &s.code,
        value: &s.value,
        comparator: &s.comparator,
    };
    piece.fill(&s.kept, &cols, shape.is_events);
    Some(piece)
}

/// The exact path: the column validators of `load.rs`, which name the first bad value.
/// Keeps rows by the keep set, or interns every code into `dict`.
fn exact(
    src: &Source,
    shape: &Shape<'_>,
    index: &PatientIndex,
    keep: Option<&KeepSet>,
    mut dict: Option<&mut CodeDict>,
) -> Result<Piece, ExtractError> {
    // Every column is validated, and the problem reported is the one on the earliest row (on
    // one row, the first column in this order). A rule that does not depend on how the rows
    // were cut into batches, so every path names the same problem.
    let mut first: Option<ExtractError> = None;
    let mut note = |e: ExtractError| {
        if first.as_ref().is_none_or(|f| row_of(&e) < row_of(f)) {
            first = Some(e);
        }
    };
    let ids = src.ids("patient_id").map_err(&mut note).ok();
    let day = src.dates("date", false).map_err(&mut note).ok();
    let codes = src.strings(shape.code_col).map_err(&mut note).ok();
    let (value, comparator) = if shape.is_events {
        let v = src.numbers("numeric_value").map_err(&mut note).ok();
        let c = if shape.has_comparator {
            src.strings("comparator")
                .map_err(&mut note)
                .ok()
                .and_then(|col| {
                    let mut out = Vec::with_capacity(src.frame.height());
                    for (i, c) in col.iter().enumerate() {
                        match Comparator::parse(c.trim()) {
                            Some(v) => out.push(v as u8),
                            None => {
                                note(src.bad(
                                    i,
                                    "comparator",
                                    "unknown comparator",
                                    c,
                                    "one of ~ = >= > < <= or empty",
                                ));
                                return None;
                            }
                        }
                    }
                    Some(out)
                })
        } else {
            Some(vec![0; src.frame.height()])
        };
        (v, c)
    } else {
        (Some(Vec::new()), Some(Vec::new()))
    };
    if let Some(i) = codes
        .as_ref()
        .and_then(|c| c.iter().position(|c| c.trim().is_empty()))
    {
        note(src.bad(i, shape.code_col, "empty code", "", "a code"));
    }
    let (ids, day, codes, value, comparator) = match (first, ids, day, codes, value, comparator) {
        (None, Some(ids), Some(day), Some(codes), Some(value), Some(comparator)) => {
            (ids, day, codes, value, comparator)
        }
        (Some(e), ..) => return Err(e),
        _ => {
            return Err(ExtractError::Invalid {
                path: src.path.clone(),
                message: "a column failed validation without saying why (a bug in rxscan)"
                    .to_string(),
            })
        }
    };
    let mut piece = Piece::default();
    for (i, c) in codes.iter().enumerate() {
        let c = c.trim();
        let Some(p) = index.get(ids[i]) else {
            piece.orphans += 1;
            if piece.first_orphan.is_none() {
                piece.first_orphan = Some((ids[i], src.row_offset + i));
            }
            continue;
        };
        let code = match (keep, dict.as_mut()) {
            (Some(k), _) => match k.lookup.get(c) {
                Some(code) if k.keeps(code, day[i]) => code,
                _ => continue,
            },
            (None, Some(d)) => d.get(c),
            (None, None) => continue,
        };
        piece.patient.push(p);
        piece.day.push(day[i]);
        piece.code.push(code);
        if shape.is_events {
            piece.value.push(value[i]);
            piece.comparator.push(comparator[i]);
        }
    }
    Ok(piece)
}

/// Where a validation error is, for choosing the earliest (errors about a whole column first).
fn row_of(e: &ExtractError) -> usize {
    match e {
        ExtractError::BadValue(b) => match b.location {
            super::Location::Line(n) | super::Location::Row(n) => n,
        },
        ExtractError::Malformed { location, .. } => match location {
            super::Location::Line(n) | super::Location::Row(n) => *n,
        },
        _ => 0,
    }
}

/// Counting sort of the pieces' rows by patient into one [`EventTable`] (codes, rows_read
/// left for the caller). Threads own contiguous patient ranges of about equal row counts and
/// each walks every piece in input order, so the sort is stable.
fn group(pieces: &[Piece], n: usize, is_events: bool) -> EventTable {
    let mut offsets = vec![0usize; n + 1];
    for piece in pieces {
        for &p in &piece.patient {
            offsets[p as usize + 1] += 1;
        }
    }
    for i in 0..n {
        offsets[i + 1] += offsets[i];
    }
    let total = offsets[n];
    let mut code = vec![0u32; total];
    let mut day = vec![0 as Day; total];
    let mut value = vec![0f64; if is_events { total } else { 0 }];
    let mut comparator = vec![0u8; if is_events { total } else { 0 }];

    let parts = rayon::current_num_threads().clamp(1, 64);
    // Patient boundaries at about equal row counts.
    let mut bounds = vec![0usize];
    for k in 1..parts {
        let target = total * k / parts;
        let b = offsets.partition_point(|&o| o < target).min(n);
        bounds.push(b.max(*bounds.last().unwrap_or(&0)));
    }
    bounds.push(n);
    struct Part<'a> {
        patients: (usize, usize),
        code: &'a mut [u32],
        day: &'a mut [Day],
        value: &'a mut [f64],
        comparator: &'a mut [u8],
    }
    let mut work: Vec<Part<'_>> = Vec::new();
    {
        let (mut code, mut day, mut value, mut comparator) = (
            &mut code[..],
            &mut day[..],
            &mut value[..],
            &mut comparator[..],
        );
        for w in bounds.windows(2) {
            let rows = offsets[w[1]] - offsets[w[0]];
            let vrows = if is_events { rows } else { 0 };
            let (c, rest_c) = code.split_at_mut(rows);
            let (d, rest_d) = day.split_at_mut(rows);
            let (v, rest_v) = value.split_at_mut(vrows);
            let (k, rest_k) = comparator.split_at_mut(vrows);
            work.push(Part {
                patients: (w[0], w[1]),
                code: c,
                day: d,
                value: v,
                comparator: k,
            });
            (code, day, value, comparator) = (rest_c, rest_d, rest_v, rest_k);
        }
    }
    work.into_par_iter().for_each(|part| {
        let (a, b) = part.patients;
        if a == b {
            return;
        }
        let base = offsets[a];
        let mut next: Vec<usize> = offsets[a..b].iter().map(|&o| o - base).collect();
        for piece in pieces {
            for (k, &p) in piece.patient.iter().enumerate() {
                let p = p as usize;
                if p < a || p >= b {
                    continue;
                }
                let at = next[p - a];
                next[p - a] += 1;
                part.code[at] = piece.code[k];
                part.day[at] = piece.day[k];
                if is_events {
                    part.value[at] = piece.value[k];
                    part.comparator[at] = piece.comparator[k];
                }
            }
        }
    });
    EventTable {
        offsets,
        code,
        day,
        value,
        comparator,
        codes: Vec::new(),
        ..EventTable::default()
    }
}

/// A CSV header as a schema of string columns (blocks are parsed header-less with it, so that
/// the loader validates the text itself).
fn string_schema(header: &[String]) -> SchemaRef {
    Arc::new(
        header
            .iter()
            .map(|h| Field::new(h.as_str().into(), DataType::String))
            .collect(),
    )
}

/// Parse one header-less CSV block from memory (borrowed, not copied), every column a string.
/// A block without a quote character is parsed with quoting off (polars' faster path).
fn read_csv_block(
    block: &[u8],
    quoted: bool,
    schema: SchemaRef,
    wanted: &[String],
) -> PolarsResult<DataFrame> {
    // Every column is parsed (see `read_csv_bytes`: polars checks field counts only then).
    CsvReadOptions::default()
        .with_has_header(false)
        .with_schema(Some(schema))
        .with_raise_if_empty(false)
        .map_parse_options(|o| o.with_quote_char(quoted.then_some(b'"')))
        .into_reader_with_file_handle(std::io::Cursor::new(block))
        .finish()?
        .select(wanted.iter().map(|c| PlSmallStr::from(c.as_str())))
}

/// A CSV file's text as polars parses it: for naming the problem when a parse fails.
struct CsvText<'a> {
    path: &'a Path,
    header: &'a [String],
    schema: &'a SchemaRef,
    wanted: &'a [String],
}

impl CsvText<'_> {
    /// polars could not parse `text`, whole records of which the first is data row `rows` and
    /// starts on line `rows + 2` (every record before it is one line: a text is cut at line
    /// ends only before the first quote character). The problem named is the one on the
    /// earliest line, as for values (`exact`): the first structural problem of the file
    /// (`diagnose_csv`, which counts physical lines), unless `validate` finds a bad value in
    /// the lines of `text` before it (complete records, since that problem is the first).
    /// Without this, which of two problems was named would depend on where the text was cut.
    fn earliest_problem(
        &self,
        e: &PolarsError,
        text: &[u8],
        quoted: bool,
        rows: usize,
        validate: impl FnOnce(DataFrame) -> Result<(), ExtractError>,
    ) -> ExtractError {
        let structural = diagnose_csv(self.path, self.header, e);
        let ExtractError::Malformed {
            location: super::Location::Line(line),
            ..
        } = &structural
        else {
            return structural;
        };
        let first_line = rows + 2;
        let Some(before) = line.checked_sub(first_line).filter(|&n| n > 0) else {
            return structural;
        };
        let Some(end) = memchr::memchr_iter(b'\n', text).nth(before - 1) else {
            return structural;
        };
        match read_csv_block(&text[..end + 1], quoted, self.schema.clone(), self.wanted) {
            Ok(frame) => validate(frame).err().unwrap_or(structural),
            Err(_) => structural,
        }
    }
}

/// Read a table in batches, calling `f(frame, rows_before)` for each.
///
/// CSV is cut at line ends into blocks that polars parses from memory. A line end inside a quoted field would make such a cut wrong, so as soon as a
/// block contains a quote character the rest of the file is read as one block (a block
/// boundary before the first quote is always a record boundary).
fn for_each_batch(
    path: &Path,
    format: Format,
    header: &[String],
    wanted: &[String],
    mut f: impl FnMut(DataFrame, usize) -> Result<(), ExtractError>,
) -> Result<usize, ExtractError> {
    use std::fs::File;
    use std::io::Read;
    let unreadable = |e: &dyn std::fmt::Display| ExtractError::unreadable(path, e);
    let mut rows = 0;
    match format {
        Format::Parquet => {
            let file = File::open(path).map_err(|e| unreadable(&e))?;
            let mut reader = ParquetReader::new(file);
            let n = reader.num_rows().map_err(|e| unreadable(&e))?;
            let metadata = reader.get_metadata().map_err(|e| unreadable(&e))?.clone();
            let mut offset = 0;
            while offset < n {
                let frame =
                    read_parquet_slice(path, wanted, Some((offset, BATCH_ROWS)), Some(&metadata))
                        .map_err(|e| unreadable(&e))?;
                let h = frame.height();
                f(frame, offset)?;
                offset += BATCH_ROWS;
                rows += h;
            }
        }
        Format::Csv => {
            let mut file = File::open(path).map_err(|e| unreadable(&e))?;
            // Skip the header line (through its newline); blocks are parsed without one, with
            // the header's names as an all-string schema.
            let mut byte = [0u8; 1];
            loop {
                match file.read(&mut byte).map_err(|e| unreadable(&e))? {
                    0 => break,
                    _ if byte[0] == b'\n' => break,
                    _ => {}
                }
            }
            let schema = string_schema(header);
            // One buffer for the whole file: a block is parsed where it was read, and only the
            // partial line after its last newline moves to the front for the next block.
            let mut buf: Vec<u8> = Vec::with_capacity(BATCH_BYTES + (1 << 16));
            let mut eof = false;
            while !eof {
                let want = BATCH_BYTES.saturating_sub(buf.len()) as u64 + 1;
                let got = (&mut file)
                    .take(want)
                    .read_to_end(&mut buf)
                    .map_err(|e| unreadable(&e))?;
                eof = (got as u64) < want;
                let quoted = memchr::memchr(b'"', &buf).is_some();
                if quoted {
                    file.read_to_end(&mut buf).map_err(|e| unreadable(&e))?;
                    eof = true;
                }
                let cut = if eof {
                    buf.len()
                } else {
                    match memchr::memrchr(b'\n', &buf) {
                        Some(i) => i + 1,
                        None => continue, // no complete line yet: read on
                    }
                };
                let block = &buf[..cut];
                if !block.iter().all(|b| b.is_ascii_whitespace()) {
                    let frame = match read_csv_block(block, quoted, schema.clone(), wanted) {
                        Ok(fr) => fr,
                        Err(e) => {
                            let text = CsvText {
                                path,
                                header,
                                schema: &schema,
                                wanted,
                            };
                            return Err(
                                text.earliest_problem(&e, block, quoted, rows, |fr| f(fr, rows))
                            );
                        }
                    };
                    let h = frame.height();
                    f(frame, rows)?;
                    rows += h;
                }
                buf.drain(..cut);
            }
        }
    }
    Ok(rows)
}
