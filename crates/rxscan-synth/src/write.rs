//! Output: hand-rolled CSV formatting (per chunk, in parallel) and Polars DataFrames for Parquet.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use polars::io::parquet::write::{BatchedWriter, ParquetCompression, ParquetWriter};
use polars::prelude::{
    Column, CompatLevel, DataFrame, DataType, Field, IntoColumn, NamedFrom, NewChunkedArray,
    Schema, Series, StringChunked,
};
use polars_parquet::write::{
    array_to_columns, compress, get_dtype_encoding, CompressedPage, CompressionOptions,
    ParquetType, StatisticsOptions, Version, WriteOptions, ZstdLevel,
};

use crate::codes::CodeBook;
use crate::dates::DateStrings;
use crate::model::{EventRow, MedRow, PatientRow, RegRow, Rows, COMPARATORS, NONE, NO_VALUE};
use crate::SynthError;

/// Table names, in output order.
pub(crate) const TABLES: [&str; 4] = [
    "patients",
    "practice_registrations",
    "medications",
    "clinical_events",
];

pub(crate) const HEADERS: [&str; 4] = [
    "patient_id,date_of_birth,sex,date_of_death\n",
    "patient_id,start_date,end_date,practice_pseudo_id\n",
    "patient_id,date,dmd_code\n",
    "patient_id,date,snomedct_code,numeric_value,comparator\n",
];

/// Stable counting sort of rows by day: interleaves patients the way a date-ordered
/// database export does, in O(n).
pub(crate) fn sort_by_day<T: Copy>(rows: &mut Vec<T>, day: impl Fn(&T) -> i32) {
    if rows.len() < 2 {
        return;
    }
    let (mut lo, mut hi) = (i32::MAX, i32::MIN);
    for r in rows.iter() {
        let d = day(r);
        lo = lo.min(d);
        hi = hi.max(d);
    }
    let mut counts = vec![0u32; (hi - lo) as usize + 2];
    for r in rows.iter() {
        counts[(day(r) - lo) as usize + 1] += 1;
    }
    for i in 1..counts.len() {
        counts[i] += counts[i - 1];
    }
    let mut out: Vec<T> = Vec::with_capacity(rows.len());
    let spare = out.spare_capacity_mut();
    for r in rows.iter() {
        let slot = &mut counts[(day(r) - lo) as usize];
        spare[*slot as usize].write(*r);
        *slot += 1;
    }
    // SAFETY: every slot in 0..len was written exactly once (counts are a permutation).
    unsafe { out.set_len(rows.len()) };
    *rows = out;
}

#[inline]
fn push_date(buf: &mut Vec<u8>, dates: &DateStrings, d: i32) {
    if d != NONE {
        buf.extend_from_slice(dates.get(d));
    }
}

#[inline]
fn push_value(buf: &mut Vec<u8>, it: &mut itoa::Buffer, val: i32, dec: u8) {
    if dec == NO_VALUE {
        return;
    }
    let (neg, v) = (val < 0, val.unsigned_abs());
    if neg {
        buf.push(b'-');
    }
    buf.extend_from_slice(it.format(v / 100).as_bytes());
    match dec {
        0 => {}
        1 => {
            buf.push(b'.');
            buf.push(b'0' + (v / 10 % 10) as u8);
        }
        _ => {
            buf.push(b'.');
            buf.push(b'0' + (v / 10 % 10) as u8);
            buf.push(b'0' + (v % 10) as u8);
        }
    }
}

pub(crate) fn csv_patients(rows: &[PatientRow], dates: &DateStrings) -> Vec<u8> {
    let mut b = Vec::with_capacity(rows.len() * 36);
    let mut it = itoa::Buffer::new();
    for r in rows {
        b.extend_from_slice(it.format(r.id).as_bytes());
        b.push(b',');
        push_date(&mut b, dates, r.dob);
        b.push(b',');
        b.push(r.sex);
        b.push(b',');
        push_date(&mut b, dates, r.death);
        b.push(b'\n');
    }
    b
}

pub(crate) fn csv_regs(rows: &[RegRow], dates: &DateStrings) -> Vec<u8> {
    let mut b = Vec::with_capacity(rows.len() * 40);
    let mut it = itoa::Buffer::new();
    for r in rows {
        b.extend_from_slice(it.format(r.id).as_bytes());
        b.push(b',');
        push_date(&mut b, dates, r.start);
        b.push(b',');
        push_date(&mut b, dates, r.end);
        b.push(b',');
        b.extend_from_slice(it.format(r.practice).as_bytes());
        b.push(b'\n');
    }
    b
}

pub(crate) fn csv_meds(rows: &[MedRow], dates: &DateStrings, book: &CodeBook) -> Vec<u8> {
    let mut b = Vec::with_capacity(rows.len() * 34);
    let mut it = itoa::Buffer::new();
    for r in rows {
        b.extend_from_slice(it.format(r.id).as_bytes());
        b.push(b',');
        b.extend_from_slice(dates.get(r.date));
        b.push(b',');
        b.extend_from_slice(book.code(r.code).as_bytes());
        b.push(b'\n');
    }
    b
}

pub(crate) fn csv_events(rows: &[EventRow], dates: &DateStrings, book: &CodeBook) -> Vec<u8> {
    let mut b = Vec::with_capacity(rows.len() * 40);
    let mut it = itoa::Buffer::new();
    for r in rows {
        b.extend_from_slice(it.format(r.id).as_bytes());
        b.push(b',');
        b.extend_from_slice(dates.get(r.date));
        b.push(b',');
        b.extend_from_slice(book.code(r.code).as_bytes());
        b.push(b',');
        push_value(&mut b, &mut it, r.val, r.dec);
        b.push(b',');
        b.extend_from_slice(COMPARATORS[r.cmp as usize].as_bytes());
        b.push(b'\n');
    }
    b
}

fn opt_date(d: i32) -> Option<i32> {
    (d != NONE).then_some(d)
}

fn date_col(name: &str, v: Vec<Option<i32>>) -> Column {
    Series::new(name.into(), v).into_date().into_column()
}

fn ids(name: &str, v: impl Iterator<Item = u32>) -> Column {
    Series::new(name.into(), v.map(i64::from).collect::<Vec<i64>>()).into_column()
}

fn frame(height: usize, cols: Vec<Column>) -> Result<DataFrame, SynthError> {
    Ok(DataFrame::new(height, cols)?)
}

pub(crate) fn df_patients(rows: &[PatientRow]) -> Result<DataFrame, SynthError> {
    frame(
        rows.len(),
        vec![
            ids("patient_id", rows.iter().map(|r| r.id)),
            date_col("date_of_birth", rows.iter().map(|r| Some(r.dob)).collect()),
            Series::new(
                "sex".into(),
                rows.iter()
                    .map(|r| match r.sex {
                        b'M' => "M",
                        b'F' => "F",
                        b'I' => "I",
                        _ => "U",
                    })
                    .collect::<Vec<&str>>(),
            )
            .into_column(),
            date_col(
                "date_of_death",
                rows.iter().map(|r| opt_date(r.death)).collect(),
            ),
        ],
    )
}

pub(crate) fn df_regs(rows: &[RegRow]) -> Result<DataFrame, SynthError> {
    frame(
        rows.len(),
        vec![
            ids("patient_id", rows.iter().map(|r| r.id)),
            date_col("start_date", rows.iter().map(|r| Some(r.start)).collect()),
            date_col("end_date", rows.iter().map(|r| opt_date(r.end)).collect()),
            ids("practice_pseudo_id", rows.iter().map(|r| r.practice)),
        ],
    )
}

pub(crate) fn df_meds(rows: &[MedRow], book: &CodeBook) -> Result<DataFrame, SynthError> {
    frame(
        rows.len(),
        vec![
            ids("patient_id", rows.iter().map(|r| r.id)),
            date_col("date", rows.iter().map(|r| Some(r.date)).collect()),
            StringChunked::from_iter_values(
                "dmd_code".into(),
                rows.iter().map(|r| book.code(r.code)),
            )
            .into_column(),
        ],
    )
}

pub(crate) fn df_events(rows: &[EventRow], book: &CodeBook) -> Result<DataFrame, SynthError> {
    frame(
        rows.len(),
        vec![
            ids("patient_id", rows.iter().map(|r| r.id)),
            date_col("date", rows.iter().map(|r| Some(r.date)).collect()),
            StringChunked::from_iter_values(
                "snomedct_code".into(),
                rows.iter().map(|r| book.code(r.code)),
            )
            .into_column(),
            Series::new(
                "numeric_value".into(),
                rows.iter()
                    .map(|r| (r.dec != NO_VALUE).then(|| r.val as f64 / 100.0))
                    .collect::<Vec<Option<f64>>>(),
            )
            .into_column(),
            Series::new(
                "comparator".into(),
                rows.iter()
                    .map(|r| (r.cmp != 0).then(|| COMPARATORS[r.cmp as usize]))
                    .collect::<Vec<Option<&str>>>(),
            )
            .into_column(),
        ],
    )
}

/// One chunk of patients, generated and formatted (in a worker thread).
pub(crate) struct ChunkOut {
    pub counts: [u64; 4],
    pub csv: Option<[Vec<u8>; 4]>,
    /// Parquet: small tables as rows (batched into larger row groups by the sink), the large
    /// ones as ready DataFrames (one row group per chunk).
    pub small: Option<(Vec<PatientRow>, Vec<RegRow>)>,
    pub large: Option<[Vec<EncodedRowGroup>; 2]>,
}

/// A row group encoded and compressed in a worker thread: row count and pages per column.
pub(crate) type EncodedRowGroup = (u64, Vec<Vec<CompressedPage>>);

/// What a worker needs to encode row groups exactly as the file writers expect them.
pub(crate) struct Encoder {
    meds: Vec<ParquetType>,
    events: Vec<ParquetType>,
    options: WriteOptions,
}

const ZSTD_LEVEL: i32 = 1;

fn write_options() -> Result<WriteOptions, SynthError> {
    Ok(WriteOptions {
        statistics: StatisticsOptions::default(),
        version: Version::V1,
        compression: CompressionOptions::Zstd(Some(ZstdLevel::try_new(ZSTD_LEVEL)?)),
        data_page_size: None,
    })
}

fn parquet_err(e: impl std::fmt::Display) -> SynthError {
    SynthError::Parquet(e.to_string())
}

impl Encoder {
    /// Encodes and compresses every chunk of `df` into row groups.
    fn encode(
        &self,
        df: &DataFrame,
        fields: &[ParquetType],
    ) -> Result<Vec<EncodedRowGroup>, SynthError> {
        let mut out = Vec::new();
        for batch in df.iter_chunks(CompatLevel::newest(), false) {
            let rows = batch.len() as u64;
            if rows == 0 {
                continue;
            }
            let mut cols = Vec::new();
            for (array, ty) in batch.columns().iter().zip(fields) {
                let enc = get_dtype_encoding(array.dtype());
                for pages in array_to_columns(array, ty.clone(), self.options, &enc)? {
                    let mut v = Vec::new();
                    for page in pages {
                        v.push(
                            compress(page?, Vec::new(), self.options.compression)
                                .map_err(parquet_err)?,
                        );
                    }
                    cols.push(v);
                }
            }
            out.push((rows, cols));
        }
        Ok(out)
    }
}

pub(crate) fn finish_chunk(
    mut rows: Rows,
    dates: &DateStrings,
    book: &CodeBook,
    csv: bool,
    encoder: Option<&Encoder>,
) -> Result<ChunkOut, SynthError> {
    let parquet = encoder.is_some();
    sort_by_day(&mut rows.regs, |r| r.start);
    sort_by_day(&mut rows.meds, |r| r.date);
    sort_by_day(&mut rows.events, |r| r.date);
    let counts = [
        rows.patients.len() as u64,
        rows.regs.len() as u64,
        rows.meds.len() as u64,
        rows.events.len() as u64,
    ];
    let csv_out = csv.then(|| {
        [
            csv_patients(&rows.patients, dates),
            csv_regs(&rows.regs, dates),
            csv_meds(&rows.meds, dates, book),
            csv_events(&rows.events, dates, book),
        ]
    });
    let large = match encoder {
        Some(enc) => Some([
            enc.encode(&df_meds(&rows.meds, book)?, &enc.meds)?,
            enc.encode(&df_events(&rows.events, book)?, &enc.events)?,
        ]),
        None => None,
    };
    let small = parquet.then_some((rows.patients, rows.regs));
    Ok(ChunkOut {
        counts,
        csv: csv_out,
        small,
        large,
    })
}

/// Row-group size target for the two small tables.
const SMALL_ROW_GROUP: usize = 256 * 1024;

struct ParquetSink {
    writers: Vec<BatchedWriter<BufWriter<File>>>,
    pending_patients: Vec<PatientRow>,
    pending_regs: Vec<RegRow>,
}

/// Writes chunks, in chunk order, to the output files.
pub(crate) struct Sinks {
    csv: Option<Vec<(PathBuf, BufWriter<File>)>>,
    parquet: Option<ParquetSink>,
    pub files: Vec<PathBuf>,
}

fn create(path: &Path) -> Result<BufWriter<File>, SynthError> {
    let f = File::create(path).map_err(|source| SynthError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(BufWriter::with_capacity(4 << 20, f))
}

fn schema(table: usize) -> Schema {
    let f = |n: &str, t: DataType| Field::new(n.into(), t);
    let fields = match table {
        0 => vec![
            f("patient_id", DataType::Int64),
            f("date_of_birth", DataType::Date),
            f("sex", DataType::String),
            f("date_of_death", DataType::Date),
        ],
        1 => vec![
            f("patient_id", DataType::Int64),
            f("start_date", DataType::Date),
            f("end_date", DataType::Date),
            f("practice_pseudo_id", DataType::Int64),
        ],
        2 => vec![
            f("patient_id", DataType::Int64),
            f("date", DataType::Date),
            f("dmd_code", DataType::String),
        ],
        _ => vec![
            f("patient_id", DataType::Int64),
            f("date", DataType::Date),
            f("snomedct_code", DataType::String),
            f("numeric_value", DataType::Float64),
            f("comparator", DataType::String),
        ],
    };
    Schema::from_iter(fields)
}

impl Sinks {
    pub(crate) fn open(out: &Path, csv: bool, parquet: bool) -> Result<Self, SynthError> {
        let mut files = Vec::new();
        let csv = if csv {
            let mut v = Vec::new();
            for (t, h) in TABLES.iter().zip(HEADERS) {
                let p = out.join(format!("{t}.csv"));
                let mut w = create(&p)?;
                w.write_all(h.as_bytes()).map_err(|source| SynthError::Io {
                    path: p.clone(),
                    source,
                })?;
                files.push(p.clone());
                v.push((p, w));
            }
            Some(v)
        } else {
            None
        };
        let parquet = if parquet {
            let mut writers = Vec::new();
            for (i, t) in TABLES.iter().enumerate() {
                let p = out.join(format!("{t}.parquet"));
                let w = create(&p)?;
                let level = ZstdLevel::try_new(ZSTD_LEVEL)?;
                writers.push(
                    ParquetWriter::new(w)
                        .with_compression(ParquetCompression::Zstd(Some(level)))
                        .batched(&schema(i))?,
                );
                files.push(p);
            }
            Some(ParquetSink {
                writers,
                pending_patients: Vec::new(),
                pending_regs: Vec::new(),
            })
        } else {
            None
        };
        Ok(Sinks {
            csv,
            parquet,
            files,
        })
    }

    /// The encoder workers use for the two large tables (None without Parquet output).
    pub(crate) fn encoder(&mut self) -> Result<Option<Encoder>, SynthError> {
        let Some(pq) = self.parquet.as_mut() else {
            return Ok(None);
        };
        Ok(Some(Encoder {
            meds: pq.writers[2].parquet_schema().fields().to_vec(),
            events: pq.writers[3].parquet_schema().fields().to_vec(),
            options: write_options()?,
        }))
    }

    pub(crate) fn write(&mut self, chunk: ChunkOut) -> Result<(), SynthError> {
        if let (Some(ws), Some(bufs)) = (self.csv.as_mut(), chunk.csv) {
            for ((p, w), b) in ws.iter_mut().zip(bufs) {
                w.write_all(&b).map_err(|source| SynthError::Io {
                    path: p.clone(),
                    source,
                })?;
            }
        }
        if let Some(pq) = self.parquet.as_mut() {
            if let Some((p, r)) = chunk.small {
                pq.pending_patients.extend_from_slice(&p);
                pq.pending_regs.extend_from_slice(&r);
                pq.flush_small(false)?;
            }
            if let Some([m, e]) = chunk.large {
                for (rows, rg) in m {
                    pq.writers[2].write_row_group(rows, &rg)?;
                }
                for (rows, rg) in e {
                    pq.writers[3].write_row_group(rows, &rg)?;
                }
            }
        }
        Ok(())
    }

    pub(crate) fn finish(mut self) -> Result<Vec<PathBuf>, SynthError> {
        if let Some(ws) = self.csv.take() {
            for (p, mut w) in ws {
                w.flush().map_err(|source| SynthError::Io {
                    path: p.clone(),
                    source,
                })?;
            }
        }
        if let Some(mut pq) = self.parquet.take() {
            pq.flush_small(true)?;
            for w in &mut pq.writers {
                w.finish()?;
            }
        }
        Ok(self.files)
    }
}

impl ParquetSink {
    fn flush_small(&mut self, all: bool) -> Result<(), SynthError> {
        if self.pending_patients.len() >= SMALL_ROW_GROUP
            || (all && !self.pending_patients.is_empty())
        {
            let df = df_patients(&self.pending_patients)?;
            self.writers[0].write_batch(&df)?;
            self.pending_patients.clear();
        }
        if self.pending_regs.len() >= SMALL_ROW_GROUP || (all && !self.pending_regs.is_empty()) {
            let df = df_regs(&self.pending_regs)?;
            self.writers[1].write_batch(&df)?;
            self.pending_regs.clear();
        }
        Ok(())
    }
}
