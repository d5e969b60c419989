//! polars' batches: the path for everything the direct readers do not take (no keep set, a
//! schema the page reader does not take, any row group or chunk they doubt).
//!
//! A table is read batch by batch ([`for_each_batch`]: Parquet row slices, CSV blocks cut at
//! line ends) so that only one batch of raw values is in memory at a time. Each batch is cut
//! into 64k-row tasks run in parallel ([`frame_pieces`]): the fast pass over its arrays
//! (`batch_fast.rs`) or, on doubt, the exact validators (`batch_exact.rs`). A CSV block polars
//! refuses is diagnosed here ([`CsvText`]), so that the problem named is the earliest in the
//! file wherever the text was cut.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use polars::prelude::*;
use rayon::prelude::*;

use super::batch_exact::exact;
use super::batch_fast::{fast, task_list, BatchArrays, SCRATCH};
use super::piece::Piece;
use super::table::{FrameCtx, KeepSet};
use crate::extract::columns::Columns;
use crate::extract::csv_diagnose::diagnose_csv;
use crate::extract::error::{ExtractError, Location};
use crate::extract::files::{open_text, read_parquet_slice};
use crate::extract::model::ReadPaths;
use crate::extract::source::Format;

/// Rows per Parquet batch, and bytes per CSV batch: a table is converted batch by batch so
/// that only one batch of raw values is in memory at a time.
const BATCH_ROWS: usize = 1 << 22;

const BATCH_BYTES: usize = 192 << 20;

/// One batch read by polars: its 64k-row tasks in parallel, each by the fast pass over the
/// arrays or, on doubt, the exact validators. Returns the pieces in order and how many tasks
/// took each path.
pub(super) fn frame_pieces(
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
                SCRATCH.with(|s| {
                    let dates = &ctx.columns.date_format;
                    fast(
                        a,
                        task,
                        ctx.shape,
                        ctx.index,
                        keep,
                        dates,
                        &mut s.borrow_mut(),
                    )
                })
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

/// A CSV header as a schema of string columns (blocks are parsed header-less with it, so that
/// the loader validates the text itself).
pub(super) fn string_schema(header: &[String]) -> SchemaRef {
    Arc::new(
        header
            .iter()
            .map(|h| Field::new(h.as_str().into(), DataType::String))
            .collect(),
    )
}

/// Parse one header-less CSV block from memory (borrowed, not copied), every column a string.
/// A block without a quote character is parsed with quoting off (polars' faster path).
pub(super) fn read_csv_block(
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
pub(super) struct CsvText<'a> {
    pub(super) path: &'a Path,
    pub(super) header: &'a [String],
    pub(super) schema: &'a SchemaRef,
    pub(super) wanted: &'a [String],
}

impl CsvText<'_> {
    /// polars could not parse `text`, whole records of which the first is data row `rows` and
    /// starts on line `rows + 2` (every record before it is one line: a text is cut at line
    /// ends only before the first quote character). The problem named is the one on the
    /// earliest line, as for values (`exact`): the first structural problem of the file
    /// (`diagnose_csv`, which counts physical lines), unless `validate` finds a bad value in
    /// the lines of `text` before it (complete records, since that problem is the first).
    /// Without this, which of two problems was named would depend on where the text was cut.
    pub(super) fn earliest_problem(
        &self,
        e: &PolarsError,
        text: &[u8],
        quoted: bool,
        rows: usize,
        validate: impl FnOnce(DataFrame) -> Result<(), ExtractError>,
    ) -> ExtractError {
        let structural = diagnose_csv(self.path, self.header, e);
        let ExtractError::Malformed {
            location: Location::Line(line),
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
/// CSV is cut at line ends into blocks that polars parses from memory. A line end inside a
/// quoted field would make such a cut wrong, so as soon as a block contains a quote character
/// the rest of the file is read as one block (a block boundary before the first quote is always
/// a record boundary).
pub(super) fn for_each_batch(
    path: &Path,
    format: Format,
    columns: &Columns,
    mut f: impl FnMut(DataFrame, usize) -> Result<(), ExtractError>,
) -> Result<usize, ExtractError> {
    use std::fs::File;
    use std::io::Read;
    let unreadable = |e: &dyn std::fmt::Display| ExtractError::unreadable(path, e);
    let (header, wanted) = (&columns.header, &columns.wanted);
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
                    read_parquet_slice(path, columns, Some((offset, BATCH_ROWS)), Some(&metadata))
                        .map_err(|e| unreadable(&e))?;
                let h = frame.height();
                f(frame, offset)?;
                offset += BATCH_ROWS;
                rows += h;
            }
        }
        Format::Csv => {
            let mut file = open_text(path).map_err(|e| unreadable(&e))?;
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
