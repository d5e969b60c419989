//! Reading a Parquet event table page by page, so that a dictionary-encoded column is decided
//! once per dictionary entry instead of once per row.
//!
//! polars' reader turns a dictionary-encoded string column into one 16-byte view per row, and
//! the loader then reads every view back: writing and re-reading those views (and faulting in
//! the memory for them) was about half of a Parquet scan. This reader walks one row group's
//! column chunks with polars-parquet's page API (the same decompression and run-length
//! decoders polars uses) and produces only what the scan needs, in reused per-thread buffers:
//!
//! - a dictionary page is decided entry by entry: a code becomes its keep id (or "not kept"),
//!   a comparator its enum, a patient id and a date are range-checked once;
//! - a data page's dictionary indices are unpacked to `u32` and mapped through that table;
//!   a plain-encoded page (a writer's fallback when a dictionary grows too large) is decided
//!   value by value;
//! - definition levels give the nulls.
//!
//! It is a fast path, not a second Parquet implementation. The caller uses it only when the
//! file's schema, as polars resolves it, has the types the loader expects, and it reads only
//! flat columns with plain or dictionary encodings. On anything else (another encoding, a null
//! where a value is required, a value the exact validators would reject, a malformed page) it
//! returns `None`, and the caller reads that row group through polars and the exact
//! validators, which accept the same rows or name the problem.

use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};

use polars_arrow::datatypes::{ArrowDataType, ArrowSchema};
use polars_buffer::Buffer;
use polars_parquet::parquet::compression::{Compression, DecompressionContext};
use polars_parquet::parquet::encoding::hybrid_rle::{HybridRleChunk, HybridRleDecoder};
use polars_parquet::parquet::encoding::Encoding;
use polars_parquet::parquet::metadata::{ColumnChunkMetadata, RowGroupMetadata};
use polars_parquet::parquet::page::{split_buffer, DataPage, Page};
use polars_parquet::parquet::read::{decompress, PageReader};
use polars_parquet::parquet::schema::types::PhysicalType;

use crate::dates::{self, Day};
use crate::extract::model::Comparator;

/// Pages larger than this are left to polars (which has the same guard).
const MAX_PAGE_BYTES: usize = 1 << 30;

/// The columns of one event table, by name, and whether it has each optional one.
pub(super) struct Columns<'a> {
    pub code: &'a str,
    pub value: Option<&'a str>,
    pub comparator: Option<&'a str>,
}

/// Whether polars would read the table's columns with the types this reader produces:
/// `patient_id` Int64, `date` Date, the code and comparator as strings, `numeric_value`
/// Float64. Anything else goes through polars, whose exact validators name a wrong type.
pub(super) fn schema_fits(schema: &ArrowSchema, cols: &Columns<'_>) -> bool {
    let is = |name: &str, ok: &dyn Fn(&ArrowDataType) -> bool| {
        schema.get(name).is_some_and(|f| ok(f.dtype()))
    };
    let text = |t: &ArrowDataType| {
        matches!(
            t,
            ArrowDataType::Utf8 | ArrowDataType::LargeUtf8 | ArrowDataType::Utf8View
        )
    };
    is("patient_id", &|t| *t == ArrowDataType::Int64)
        && is("date", &|t| *t == ArrowDataType::Date32)
        && is(cols.code, &text)
        && cols
            .value
            .is_none_or(|v| is(v, &|t| *t == ArrowDataType::Float64))
        && cols.comparator.is_none_or(|c| is(c, &text))
}

/// A `patient` value at or above this is an orphan: `orphan_ids[value - ORPHAN]` is its id.
pub(super) const ORPHAN: u32 = 1 << 31;

/// One row group's decided columns, one entry per row (reused between row groups).
#[derive(Default)]
pub(super) struct Decoded {
    /// The row's patient (dense index), or [`ORPHAN`] and up for an id that is not a patient.
    pub patient: Vec<u32>,
    pub orphan_ids: Vec<i64>,
    pub day: Vec<Day>,
    /// Keep id of the row's code, or the caller's "not kept" marker.
    pub code: Vec<u32>,
    /// `numeric_value`, NaN when null (empty when the table has none).
    pub value: Vec<f64>,
    /// `Comparator as u8` (empty when the table has none).
    pub comparator: Vec<u8>,
    /// Data pages read, by encoding.
    pub dictionary_pages: usize,
    pub plain_pages: usize,
    scratch: PageScratch,
}

#[derive(Default)]
struct PageScratch {
    /// One decompressed page.
    page: Vec<u8>,
    /// Unpacked definition levels or dictionary indices.
    levels: Vec<u32>,
    indices: Vec<u32>,
    context: Option<DecompressionContext>,
    dictionary_pages: usize,
    plain_pages: usize,
}

/// Decode the row group's columns into `out`; `patient_of` gives a non-negative id's patient,
/// `code_of` a trimmed, non-empty code's keep id. `None` when the row group needs the exact
/// path (see the module docs).
pub(super) fn decode_row_group(
    file: &mut File,
    rg: &RowGroupMetadata,
    cols: &Columns<'_>,
    patient_of: &dyn Fn(i64) -> Option<u32>,
    code_of: &dyn Fn(&str) -> u32,
    out: &mut Decoded,
) -> Option<()> {
    let n = rg.num_rows();
    let chunk = |name: &str| -> Option<&ColumnChunkMetadata> {
        let mut it = rg.columns_under_root_iter(name)?;
        let c = it.next()?;
        it.next().is_none().then_some(c)
    };
    let s = &mut out.scratch;
    s.dictionary_pages = 0;
    s.plain_pages = 0;
    out.patient.clear();
    out.orphan_ids.clear();
    let mut id = Id {
        lookup: patient_of,
        orphans: &mut out.orphan_ids,
    };
    read_column(file, chunk("patient_id")?, &mut id, &mut out.patient, s)?;
    out.day.clear();
    let mut day = DayOf {
        lo: dates::from_ymd(dates::MIN_YEAR, 1, 1).unwrap_or(Day::MIN),
        hi: dates::from_ymd(dates::MAX_YEAR, 12, 31).unwrap_or(Day::MAX - 1),
    };
    read_column(file, chunk("date")?, &mut day, &mut out.day, s)?;
    out.code.clear();
    read_column(
        file,
        chunk(cols.code)?,
        &mut Code(code_of),
        &mut out.code,
        s,
    )?;
    out.value.clear();
    if let Some(v) = cols.value {
        read_column(file, chunk(v)?, &mut Value, &mut out.value, s)?;
    }
    out.comparator.clear();
    if let Some(c) = cols.comparator {
        read_column(file, chunk(c)?, &mut Cmp, &mut out.comparator, s)?;
    }
    out.dictionary_pages = s.dictionary_pages;
    out.plain_pages = s.plain_pages;
    let fits = |len: usize| len == n;
    (fits(out.patient.len())
        && fits(out.day.len())
        && fits(out.code.len())
        && (cols.value.is_none() || fits(out.value.len()))
        && (cols.comparator.is_none() || fits(out.comparator.len())))
    .then_some(())
}

/// How one column's values are decided: from the plain encoding of one value (`WIDTH` bytes,
/// or a byte array's content when `WIDTH` is `None`) to what the loader keeps.
trait Decide {
    type Out: Copy;
    const PHYSICAL: PhysicalType;
    const WIDTH: Option<usize>;
    /// The value of a null, or `None` when a null needs the exact path.
    const NULL: Option<Self::Out>;
    fn decide(&mut self, raw: &[u8]) -> Option<Self::Out>;
}

/// A patient id, decided once per dictionary entry: the patient, or an orphan.
struct Id<'a> {
    lookup: &'a dyn Fn(i64) -> Option<u32>,
    orphans: &'a mut Vec<i64>,
}
impl Decide for Id<'_> {
    type Out = u32;
    const PHYSICAL: PhysicalType = PhysicalType::Int64;
    const WIDTH: Option<usize> = Some(8);
    const NULL: Option<u32> = None;
    #[inline]
    fn decide(&mut self, raw: &[u8]) -> Option<u32> {
        let v = i64::from_le_bytes(raw.try_into().ok()?);
        if v < 0 {
            return None;
        }
        Some(match (self.lookup)(v) {
            Some(p) if p < ORPHAN => p,
            Some(_) => return None, // more patients than the marker allows
            None => {
                self.orphans.push(v);
                ORPHAN + (self.orphans.len() - 1) as u32
            }
        })
    }
}

struct DayOf {
    lo: Day,
    hi: Day,
}
impl Decide for DayOf {
    type Out = Day;
    const PHYSICAL: PhysicalType = PhysicalType::Int32;
    const WIDTH: Option<usize> = Some(4);
    const NULL: Option<Day> = None;
    #[inline]
    fn decide(&mut self, raw: &[u8]) -> Option<Day> {
        let v = i32::from_le_bytes(raw.try_into().ok()?);
        (self.lo <= v && v <= self.hi).then_some(v)
    }
}

struct Code<'a>(&'a dyn Fn(&str) -> u32);
impl Decide for Code<'_> {
    type Out = u32;
    const PHYSICAL: PhysicalType = PhysicalType::ByteArray;
    const WIDTH: Option<usize> = None;
    const NULL: Option<u32> = None;
    #[inline]
    fn decide(&mut self, raw: &[u8]) -> Option<u32> {
        let t = std::str::from_utf8(raw).ok()?.trim();
        (!t.is_empty()).then(|| (self.0)(t))
    }
}

struct Value;
impl Decide for Value {
    type Out = f64;
    const PHYSICAL: PhysicalType = PhysicalType::Double;
    const WIDTH: Option<usize> = Some(8);
    const NULL: Option<f64> = Some(f64::NAN);
    #[inline]
    fn decide(&mut self, raw: &[u8]) -> Option<f64> {
        let v = f64::from_le_bytes(raw.try_into().ok()?);
        v.is_finite().then_some(v)
    }
}

struct Cmp;
impl Decide for Cmp {
    type Out = u8;
    const PHYSICAL: PhysicalType = PhysicalType::ByteArray;
    const WIDTH: Option<usize> = None;
    const NULL: Option<u8> = Some(Comparator::None as u8);
    #[inline]
    fn decide(&mut self, raw: &[u8]) -> Option<u8> {
        Comparator::parse(std::str::from_utf8(raw).ok()?.trim()).map(|c| c as u8)
    }
}

/// Plain-encoded values, one after another.
struct Plain<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Plain<'_> {
    #[inline]
    fn next<D: Decide>(&mut self, d: &mut D) -> Option<D::Out> {
        let len = match D::WIDTH {
            Some(w) => w,
            None => {
                let l = self.bytes.get(self.at..self.at + 4)?;
                self.at += 4;
                u32::from_le_bytes(l.try_into().ok()?) as usize
            }
        };
        let raw = self.bytes.get(self.at..self.at.checked_add(len)?)?;
        self.at += len;
        d.decide(raw)
    }
}

/// Read one column chunk, appending one value per row to `out`.
fn read_column<D: Decide>(
    file: &mut File,
    meta: &ColumnChunkMetadata,
    d: &mut D,
    out: &mut Vec<D::Out>,
    s: &mut PageScratch,
) -> Option<()> {
    let desc = &meta.descriptor().descriptor;
    if desc.max_rep_level != 0 || desc.max_def_level > 1 || meta.physical_type() != D::PHYSICAL {
        return None;
    }
    let optional = desc.max_def_level == 1;
    let range = meta.byte_range();
    let len = usize::try_from(range.end.checked_sub(range.start)?).ok()?;
    file.seek(SeekFrom::Start(range.start)).ok()?;
    // The page reader takes ownership of the chunk's bytes, so they are read into a new buffer.
    let mut bytes = Vec::with_capacity(len);
    file.take(len as u64).read_to_end(&mut bytes).ok()?;
    if bytes.len() != len {
        return None;
    }
    let compressed = meta.compression() != Compression::Uncompressed;
    let reader = PageReader::new(
        Cursor::new(Buffer::from(bytes)),
        meta,
        Vec::new(),
        MAX_PAGE_BYTES,
    );
    let context = s.context.get_or_insert(DecompressionContext::Unset);
    let mut dict: Vec<D::Out> = Vec::new();
    let mut result = Some(());
    for page in reader {
        let Ok(page) = page else {
            result = None;
            break;
        };
        let Ok(page) = decompress(page, &mut s.page, context) else {
            result = None;
            break;
        };
        match page {
            Page::Dict(p) => {
                dict.clear();
                let mut plain = Plain {
                    bytes: &p.buffer,
                    at: 0,
                };
                for _ in 0..p.num_values {
                    match plain.next(d) {
                        Some(v) => dict.push(v),
                        None => {
                            result = None;
                            break;
                        }
                    }
                }
                if compressed {
                    s.page = p.buffer.into_vec();
                }
            }
            Page::Data(mut p) => {
                match p.encoding() {
                    Encoding::Plain => s.plain_pages += 1,
                    _ => s.dictionary_pages += 1,
                }
                let ok = data_page(&p, optional, &dict, d, out, &mut s.levels, &mut s.indices);
                if compressed {
                    s.page = std::mem::take(p.buffer_mut());
                }
                if ok.is_none() {
                    result = None;
                }
            }
        }
        if result.is_none() {
            break;
        }
    }
    result
}

/// Append one data page's values to `out`.
fn data_page<D: Decide>(
    p: &DataPage,
    optional: bool,
    dict: &[D::Out],
    d: &mut D,
    out: &mut Vec<D::Out>,
    levels: &mut Vec<u32>,
    indices: &mut Vec<u32>,
) -> Option<()> {
    let n = p.num_values();
    let parts = split_buffer(p).ok()?;
    // Definition levels: 1 valid, 0 null, one per row (left empty when all are valid).
    levels.clear();
    let mut valid = n;
    if optional {
        if p.definition_level_encoding() != Encoding::Rle {
            return None;
        }
        let mut dec = HybridRleDecoder::new(parts.def, 1, n);
        while let Some(chunk) = dec.next_chunk().ok()? {
            match chunk {
                HybridRleChunk::Rle(v, len) if v <= 1 => {
                    levels.extend(std::iter::repeat_n(v, len));
                }
                HybridRleChunk::Rle(..) => return None,
                HybridRleChunk::Bitpacked(b) => b.collect_into(levels),
            }
        }
        if levels.len() != n {
            return None;
        }
        valid = levels.iter().map(|&l| l as usize).sum();
        if valid == n {
            levels.clear();
        }
    }
    if valid < n && D::NULL.is_none() {
        return None;
    }
    let null = D::NULL;
    match p.encoding() {
        Encoding::RleDictionary | Encoding::PlainDictionary => {
            indices.clear();
            if valid > 0 {
                let (&bits, rest) = parts.values.split_first()?;
                if bits > 32 {
                    return None;
                }
                let mut dec = HybridRleDecoder::new(rest, bits as u32, valid);
                while let Some(chunk) = dec.next_chunk().ok()? {
                    match chunk {
                        HybridRleChunk::Rle(v, len) => {
                            indices.extend(std::iter::repeat_n(v, len));
                        }
                        HybridRleChunk::Bitpacked(b) => b.collect_into(indices),
                    }
                }
                if indices.len() != valid {
                    return None;
                }
                let max = indices.iter().copied().max().unwrap_or(0);
                if max as usize >= dict.len() {
                    return None;
                }
            }
            if valid == n {
                out.extend(indices.iter().map(|&i| dict[i as usize]));
            } else {
                let null = null?;
                let mut k = 0;
                out.extend(levels.iter().map(|&l| {
                    if l == 0 {
                        return null;
                    }
                    k += 1;
                    dict[indices[k - 1] as usize]
                }));
            }
        }
        Encoding::Plain => {
            let mut plain = Plain {
                bytes: parts.values,
                at: 0,
            };
            if valid == n {
                for _ in 0..n {
                    out.push(plain.next(d)?);
                }
            } else {
                let null = null?;
                for &l in levels.iter() {
                    out.push(if l == 0 { null } else { plain.next(d)? });
                }
            }
        }
        _ => return None,
    }
    Some(())
}
