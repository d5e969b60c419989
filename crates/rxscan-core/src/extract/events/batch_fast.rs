//! The fast pass over one batch that polars read: its arrow arrays read directly, in tasks of
//! 64k rows that run in parallel, each with its thread's reused scratch space
//! ([`BatchScratch`]).
//!
//! A code, a date string or a comparator is resolved once per distinct 16-byte view
//! ([`ViewCache`]), which for a column decoded from a Parquet dictionary means once per entry.
//! Like the direct readers, it accepts only what is plainly valid; on anything else (a null,
//! padding to trim, a bad value, an unexpected column type) [`fast`] returns `None` and the
//! task is read again by the exact path (`batch_exact.rs`).

use std::cell::RefCell;

use polars::prelude::*;
use polars_arrow::array::{Array, PrimitiveArray, Utf8ViewArray};

use super::earlier;
use super::piece::{KeptColumns, Piece};
use super::table::{KeepSet, RowShape, NOT_KEPT};
use crate::dates::{self, Day};
use crate::extract::date_format::DateFormat;
use crate::extract::model::Comparator;
use crate::extract::values::{digits, parse_number, PatientIndex};

/// Rows per parallel task inside a batch.
const TASK_ROWS: usize = 1 << 16;

/// A task: `len` rows from row `start` of chunk `chunk`; `row` within the batch, `first`
/// within the file.
pub(super) struct Task {
    pub(super) chunk: usize,
    pub(super) start: usize,
    pub(super) row: usize,
    pub(super) first: usize,
    pub(super) len: usize,
}

pub(super) fn task_list(
    frame: &DataFrame,
    arrays: Option<&BatchArrays<'_>>,
    offset: usize,
) -> Vec<Task> {
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

pub(super) struct BatchArrays<'a> {
    chunks: Vec<ChunkArrays<'a>>,
}

impl<'a> BatchArrays<'a> {
    /// The arrays of a batch whose columns have the types the fast path reads; `None` sends
    /// every task of the batch to the exact path (which names an unexpected type).
    pub(super) fn new(frame: &'a DataFrame, shape: &RowShape<'_>) -> Option<BatchArrays<'a>> {
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
pub(super) struct BatchScratch {
    /// Rows (within the task) whose code is kept.
    candidates: Vec<u32>,
    /// Rows kept, with their patient.
    kept: Vec<(u32, u32)>,
    /// Candidates for the earlier rows (`earlier.rs`), with their patient.
    earlier: Vec<(u32, u32)>,
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
    pub(super) static SCRATCH: RefCell<BatchScratch> = RefCell::new(BatchScratch {
        candidates: Vec::new(),
        kept: Vec::new(),
        earlier: Vec::new(),
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
pub(super) fn fast(
    arrays: &BatchArrays<'_>,
    task: &Task,
    shape: &RowShape<'_>,
    index: &PatientIndex,
    keep: &KeepSet,
    date_format: &DateFormat,
    s: &mut BatchScratch,
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
                // SAFETY: `i < len` of the array.
                let parse = || date_format.parse(unsafe { a.value_unchecked(i) });
                if !v.is_inline() {
                    // Longer than 12 bytes (a date with a time of day): parsed each time.
                    s.day.push(parse()?);
                    continue;
                }
                let d = s.days.get(v.as_u128(), || parse().map(|d| d as u32))?;
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

    // Keep the rows that matter, and with history the candidates for the earlier rows (rows of
    // a kept code dated before its group's day).
    s.kept.clear();
    s.earlier.clear();
    let (code, day) = (&s.code, &s.day);
    for &i in &s.candidates {
        let i = i as usize;
        let counted = keep.keeps(code[i], day[i]);
        let candidate = keep.is_candidate(code[i], day[i]);
        if !counted && !candidate {
            continue;
        }
        let Some(p) = index.get(ids[i]) else {
            continue;
        };
        if counted {
            s.kept.push((i as u32, p));
        }
        if candidate && keep.admits(p) {
            s.earlier.push((i as u32, p));
        }
    }
    let earlier = earlier::latest(keep, &s.earlier, code, day);
    let cols = KeptColumns {
        day: &s.day,
        code: &s.code,
        value: &s.value,
        comparator: &s.comparator,
    };
    piece.rows.fill(&s.kept, &cols, shape.is_events);
    piece.set_earlier(keep, &earlier, &cols, shape.is_events);
    Some(piece)
}
