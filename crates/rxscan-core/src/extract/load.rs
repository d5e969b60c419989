//! Reading the four tables with polars and converting them to the evaluator's layout.
//!
//! Each column is converted to a plain typed vector with full validation before anything else
//! happens, so a bad value anywhere in a file is reported, not only in rows that happen to
//! matter. CSV columns are read as strings and parsed here (polars' own parsers accept dates
//! and numbers the spec calls broken, and cannot say which line failed); Parquet columns are
//! taken in their stored types where those are unambiguous.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::error::{BadValue, ExtractError, Location};
use super::{Comparator, EventTable, Extract, Registrations, Sex, NO_DATE};
use crate::dates::{self, Day};
use crate::plan::{Plan, Table};

/// How to load an extract.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Skip (and report) event and registration rows whose patient is not in `patients`,
    /// instead of failing.
    pub skip_orphans: bool,
    /// Keep only medication rows with these codes (`None`: keep all). Other rows are still
    /// validated.
    pub keep_medication_codes: Option<Vec<String>>,
    /// Keep only clinical-event rows with these codes (`None`: keep all).
    pub keep_event_codes: Option<Vec<String>>,
}

impl LoadOptions {
    /// Keep only the rows whose code is in some codelist of `plan`.
    pub fn for_plan(plan: &Plan) -> LoadOptions {
        let codes = |t: Table| -> Vec<String> {
            let mut v: Vec<String> = plan
                .codelists
                .iter()
                .filter(|c| c.table == t)
                .flat_map(|c| c.codes.iter().cloned())
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        LoadOptions {
            skip_orphans: false,
            keep_medication_codes: Some(codes(Table::Medications)),
            keep_event_codes: Some(codes(Table::ClinicalEvents)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Parquet,
}

/// One table's file, read into a frame, with its header for column numbers.
struct Source {
    path: PathBuf,
    format: Format,
    header: Vec<String>,
    frame: DataFrame,
    /// Records before this frame's first row (when a table is read in batches).
    row_offset: usize,
}

impl Source {
    fn column_no(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .map_or(0, |i| i + 1)
    }

    fn location(&self, row: usize) -> Location {
        let row = row + self.row_offset;
        match self.format {
            Format::Parquet => Location::Row(row + 1),
            Format::Csv => Location::Line(
                super::csvscan::record_at(&self.path, row + 1).map_or(row + 2, |r| r.line),
            ),
        }
    }

    fn bad(
        &self,
        row: usize,
        column: &str,
        problem: &str,
        value: &str,
        expected: &str,
    ) -> ExtractError {
        // A missing value may be a row that is cut short, or a blank line: say that instead.
        if let Some((line, message)) = (self.format == Format::Csv)
            .then(|| {
                super::csvscan::short_row(&self.path, self.row_offset + row + 1, self.header.len())
            })
            .flatten()
        {
            return ExtractError::Malformed {
                path: self.path.clone(),
                location: Location::Line(line),
                message,
            };
        }
        ExtractError::BadValue(Box::new(BadValue {
            path: self.path.clone(),
            location: self.location(row),
            column: column.to_string(),
            column_no: self.column_no(column),
            problem: problem.to_string(),
            value: value.to_string(),
            expected: expected.to_string(),
        }))
    }

    fn col(&self, name: &str) -> Result<&Column, ExtractError> {
        self.frame.column(name).map_err(|e| ExtractError::Invalid {
            path: self.path.clone(),
            message: e.to_string(),
        })
    }

    fn has(&self, name: &str) -> bool {
        self.header.iter().any(|h| h == name)
    }

    fn n_rows(&self) -> usize {
        self.frame.height()
    }

    fn wrong_type(&self, name: &str, found: &DataType, expected: &str) -> ExtractError {
        ExtractError::BadColumnType {
            path: self.path.clone(),
            column: name.to_string(),
            found: found.to_string(),
            expected: expected.to_string(),
        }
    }

    /// Non-negative integer ids (patient_id).
    fn ids(&self, name: &str) -> Result<Vec<i64>, ExtractError> {
        let col = self.col(name)?;
        let expected = "a non-negative whole number";
        match col.dtype() {
            DataType::String => {
                let ca = col.str().map_err(|e| self.polars(e))?;
                let mut out = Vec::with_capacity(ca.len());
                for (i, v) in ca.iter().enumerate() {
                    let s = v.unwrap_or("");
                    match parse_id(s) {
                        Ok(id) => out.push(id),
                        Err(problem) => return Err(self.bad(i, name, problem, s, expected)),
                    }
                }
                Ok(out)
            }
            dt if dt.is_integer() => {
                let cast = col.cast(&DataType::Int64).map_err(|e| self.polars(e))?;
                let ca = cast.i64().map_err(|e| self.polars(e))?;
                let mut out = Vec::with_capacity(ca.len());
                for (i, v) in ca.iter().enumerate() {
                    match v {
                        Some(id) if id >= 0 => out.push(id),
                        Some(id) => {
                            return Err(self.bad(i, name, "negative id", &id.to_string(), expected))
                        }
                        // The cast turns an unsigned id above i64::MAX into null too.
                        None => match col.get(i) {
                            Ok(v) if !v.is_null() => {
                                return Err(self.bad(
                                    i,
                                    name,
                                    "id too large (the limit is 9223372036854775807)",
                                    &v.to_string(),
                                    expected,
                                ))
                            }
                            _ => return Err(self.bad(i, name, "empty value", "", expected)),
                        },
                    }
                }
                Ok(out)
            }
            other => Err(self.wrong_type(name, other, "an integer or string column")),
        }
    }

    /// Dates as day numbers; empty values become [`NO_DATE`] when `optional`.
    fn dates(&self, name: &str, optional: bool) -> Result<Vec<Day>, ExtractError> {
        let col = self.col(name)?;
        let expected = if optional {
            "a date as YYYY-MM-DD, or empty"
        } else {
            "a date as YYYY-MM-DD"
        };
        match col.dtype() {
            DataType::String => {
                let ca = col.str().map_err(|e| self.polars(e))?;
                let mut out = Vec::with_capacity(ca.len());
                for (i, v) in ca.iter().enumerate() {
                    match v {
                        None | Some("") if optional => out.push(NO_DATE),
                        None | Some("") => {
                            return Err(self.bad(i, name, "empty value", "", expected))
                        }
                        Some(s) => match dates::parse_iso(s) {
                            Some(d) => out.push(d),
                            None => return Err(self.bad(i, name, "invalid date", s, expected)),
                        },
                    }
                }
                Ok(out)
            }
            DataType::Date => {
                let ca = col.date().map_err(|e| self.polars(e))?;
                let lo = dates::from_ymd(dates::MIN_YEAR, 1, 1).unwrap_or(Day::MIN);
                let hi = dates::from_ymd(dates::MAX_YEAR, 12, 31).unwrap_or(Day::MAX - 1);
                let mut out = Vec::with_capacity(ca.len());
                for (i, v) in ca.physical().iter().enumerate() {
                    match v {
                        None if optional => out.push(NO_DATE),
                        None => return Err(self.bad(i, name, "empty value", "", expected)),
                        Some(d) if (lo..=hi).contains(&d) => out.push(d),
                        Some(d) => {
                            return Err(self.bad(
                                i,
                                name,
                                "date out of range",
                                &d.to_string(),
                                "a date between years 1 and 9999",
                            ))
                        }
                    }
                }
                Ok(out)
            }
            DataType::Null if optional => Ok(vec![NO_DATE; col.len()]),
            other => Err(self.wrong_type(name, other, "a Date or YYYY-MM-DD string column")),
        }
    }

    /// A string column as an iterator of trimmed `&str` ("" for null), integers rendered.
    fn strings(&self, name: &str) -> Result<StrCol, ExtractError> {
        let col = self.col(name)?;
        match col.dtype() {
            DataType::String => Ok(StrCol(col.str().map_err(|e| self.polars(e))?.clone())),
            DataType::Null => Ok(StrCol(StringChunked::full_null(name.into(), col.len()))),
            other => Err(self.wrong_type(name, other, "a string column")),
        }
    }

    fn polars(&self, e: PolarsError) -> ExtractError {
        ExtractError::Invalid {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }
}

struct StrCol(StringChunked);

impl StrCol {
    fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.iter().map(|v| v.unwrap_or(""))
    }
}

fn parse_id(s: &str) -> Result<i64, &'static str> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty value");
    }
    if t.starts_with('-') && t[1..].bytes().all(|b| b.is_ascii_digit()) && t.len() > 1 {
        return Err("negative id");
    }
    if !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a whole number");
    }
    t.parse::<i64>()
        .map_err(|_| "id too large (the limit is 9223372036854775807)")
}

/// Find `table.csv` or `table.parquet` in `dir`.
fn locate(dir: &Path, table: &str) -> Result<(PathBuf, Format), ExtractError> {
    if !dir.is_dir() {
        let message = if dir.exists() {
            "not a directory".to_string()
        } else {
            "no such directory".to_string()
        };
        return Err(ExtractError::Unreadable {
            path: dir.to_path_buf(),
            message,
        });
    }
    let csv = dir.join(format!("{table}.csv"));
    let parquet = dir.join(format!("{table}.parquet"));
    let found: Vec<(PathBuf, Format)> = [(csv, Format::Csv), (parquet, Format::Parquet)]
        .into_iter()
        .filter(|(p, _)| p.exists())
        .collect();
    match found.len() {
        0 => Err(ExtractError::MissingTable {
            dir: dir.to_path_buf(),
            table: table.to_string(),
        }),
        1 => {
            let (p, f) = found.into_iter().next().expect("one");
            if p.is_dir() {
                return Err(ExtractError::Unreadable {
                    path: p,
                    message: "is a directory, expected a file".into(),
                });
            }
            Ok((p, f))
        }
        _ => Err(ExtractError::AmbiguousTable {
            dir: dir.to_path_buf(),
            table: table.to_string(),
        }),
    }
}

fn read_source(
    dir: &Path,
    table: &str,
    required: &[&str],
    optional: &[&str],
) -> Result<Source, ExtractError> {
    let (path, format, header, wanted) = open_table(dir, table, required, optional)?;
    let unreadable = |e: &dyn std::fmt::Display| ExtractError::Unreadable {
        path: path.clone(),
        message: e.to_string(),
    };
    let frame = match format {
        Format::Csv => match read_csv_bytes(None, &path, &wanted) {
            Ok(f) => f,
            Err(e) => return Err(diagnose_csv(&path, &header, &e)),
        },
        Format::Parquet => read_parquet_slice(&path, &wanted, None).map_err(|e| unreadable(&e))?,
    };
    Ok(Source {
        path,
        format,
        header,
        frame,
        row_offset: 0,
    })
}

/// Read CSV with every column as a string, from memory or from the file.
fn read_csv_bytes(
    bytes: Option<Vec<u8>>,
    path: &Path,
    wanted: &[String],
) -> PolarsResult<DataFrame> {
    let cols: Arc<[PlSmallStr]> = wanted
        .iter()
        .map(|c| PlSmallStr::from(c.as_str()))
        .collect();
    let opts = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .with_columns(Some(cols))
        .with_raise_if_empty(false);
    match bytes {
        Some(b) => opts
            .into_reader_with_file_handle(std::io::Cursor::new(b))
            .finish(),
        None => opts
            .try_into_reader_with_file_path(Some(path.to_path_buf()))?
            .finish(),
    }
}

fn read_parquet_slice(
    path: &Path,
    wanted: &[String],
    slice: Option<(usize, usize)>,
) -> PolarsResult<DataFrame> {
    let file = File::open(path)?;
    ParquetReader::new(file)
        .with_columns(Some(wanted.to_vec()))
        .with_slice(slice)
        .finish()
}

/// Locate a table, read its header and check the required columns. Returns the columns to read.
fn open_table(
    dir: &Path,
    table: &str,
    required: &[&str],
    optional: &[&str],
) -> Result<(PathBuf, Format, Vec<String>, Vec<String>), ExtractError> {
    let (path, format) = locate(dir, table)?;
    let unreadable = |e: &dyn std::fmt::Display| ExtractError::Unreadable {
        path: path.clone(),
        message: e.to_string(),
    };
    let header: Vec<String> = match format {
        Format::Csv => {
            let file = File::open(&path).map_err(|e| unreadable(&e))?;
            if file.metadata().map_err(|e| unreadable(&e))?.len() == 0 {
                return Err(ExtractError::EmptyFile {
                    path,
                    expected: required.join(","),
                });
            }
            let mut rdr = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(file);
            let mut rec = csv::StringRecord::new();
            match rdr.read_record(&mut rec) {
                Ok(_) if super::csvscan::lone_cr(&path) => {
                    let message = "lines end with a lone carriage return (CR, old Mac style); rxscan reads LF or CRLF line endings".to_string();
                    return Err(ExtractError::Malformed {
                        path,
                        location: Location::Line(1),
                        message,
                    });
                }
                Ok(true) => rec
                    .iter()
                    .enumerate()
                    .map(|(i, h)| {
                        if i == 0 {
                            h.trim_start_matches('\u{feff}').to_string()
                        } else {
                            h.to_string()
                        }
                    })
                    .collect(),
                Ok(false) => {
                    return Err(ExtractError::EmptyFile {
                        path,
                        expected: required.join(","),
                    })
                }
                Err(e) if matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) => {
                    return Err(ExtractError::Malformed {
                        path: path.clone(),
                        location: Location::Line(1),
                        message: super::csvscan::header_not_utf8(&path),
                    })
                }
                Err(e) => return Err(unreadable(&e)),
            }
        }
        Format::Parquet => {
            let file = File::open(&path).map_err(|e| unreadable(&e))?;
            let schema = ParquetReader::new(file)
                .schema()
                .map_err(|e| unreadable(&e))?;
            schema.iter_names().map(|n| n.to_string()).collect()
        }
    };
    for col in required {
        if !header.iter().any(|h| h == col) {
            let mut hint = String::new();
            if header.len() == 1 && [';', '\t', '|'].iter().any(|c| header[0].contains(*c)) {
                hint = "; the header looks separated by something other than commas: rxscan reads comma-separated files".into();
            } else if let Some(near) =
                crate::diagnostics::did_you_mean(col, header.iter().map(String::as_str))
            {
                hint = format!("; did you mean `{near}`?");
            }
            return Err(ExtractError::MissingColumn {
                path,
                column: col.to_string(),
                found: header.join(", "),
                hint,
            });
        }
    }
    let wanted: Vec<String> = required
        .iter()
        .chain(optional.iter().filter(|c| header.iter().any(|h| h == *c)))
        .map(|c| c.to_string())
        .collect();
    for col in &wanted {
        let at: Vec<String> = header
            .iter()
            .enumerate()
            .filter(|(_, h)| *h == col)
            .map(|(i, _)| (i + 1).to_string())
            .collect();
        if at.len() > 1 {
            let message = format!("column `{col}` appears {} times in the header (columns {}); keep one so it is clear which is read", at.len(), at.join(" and "));
            return Err(match format {
                Format::Csv => ExtractError::Malformed {
                    path,
                    location: Location::Line(1),
                    message,
                },
                Format::Parquet => ExtractError::Invalid { path, message },
            });
        }
    }
    Ok((path, format, header, wanted))
}

/// Why polars refused a CSV file: the first structurally broken record, found by reading the
/// file again the way polars splits it, or else the first line of polars' own message.
fn diagnose_csv(path: &Path, header: &[String], e: &PolarsError) -> ExtractError {
    match super::csvscan::first_problem(path, header.len()) {
        Some((line, message)) => ExtractError::Malformed {
            path: path.to_path_buf(),
            location: Location::Line(line),
            message,
        },
        None => {
            let text = e.to_string();
            ExtractError::Unreadable {
                path: path.to_path_buf(),
                message: text.lines().next().unwrap_or("").trim().to_string(),
            }
        }
    }
}

/// Codes are digit strings; one of at most 18 digits without a leading zero maps one-to-one
/// to its value, so the fixed-set lookup hashes a `u64` instead of a string (other codes take
/// the string path). This is a key, never arithmetic: codes stay strings everywhere else.
#[inline]
fn digit_key(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 18 || b[0] == b'0' {
        return None;
    }
    let mut v = 0u64;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + d as u64;
    }
    Some(v)
}

/// A fixed code set: digit codes by value, anything else by string.
struct FixedCodes {
    by_key: FxHashMap<u64, u32>,
    by_str: FxHashMap<String, u32>,
}

impl FixedCodes {
    fn new(ids: &FxHashMap<String, u32>) -> FixedCodes {
        let mut f = FixedCodes {
            by_key: FxHashMap::default(),
            by_str: FxHashMap::default(),
        };
        for (code, &id) in ids {
            match digit_key(code) {
                Some(k) => f.by_key.insert(k, id),
                None => f.by_str.insert(code.clone(), id),
            };
        }
        f
    }
    #[inline]
    fn get(&self, code: &str) -> Option<u32> {
        match digit_key(code) {
            Some(k) => self.by_key.get(&k).copied(),
            None => self.by_str.get(code).copied(),
        }
    }
}

/// Interns code strings, optionally keeping only a given set (others map to `None`).
struct CodeDict {
    ids: FxHashMap<String, u32>,
    codes: Vec<String>,
    fixed: bool,
}

impl CodeDict {
    fn new(keep: Option<&Vec<String>>) -> Self {
        match keep {
            Some(list) => {
                let codes = list.clone();
                let ids = codes
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.clone(), i as u32))
                    .collect();
                CodeDict {
                    ids,
                    codes,
                    fixed: true,
                }
            }
            None => CodeDict {
                ids: FxHashMap::default(),
                codes: Vec::new(),
                fixed: false,
            },
        }
    }
    fn get(&mut self, code: &str) -> Option<u32> {
        if let Some(&id) = self.ids.get(code) {
            return Some(id);
        }
        if self.fixed {
            return None;
        }
        let id = self.codes.len() as u32;
        self.codes.push(code.to_string());
        self.ids.insert(code.to_string(), id);
        Some(id)
    }
}

/// Maps patient_id to the dense index, and records rows whose patient is unknown.
/// `patient_id` → dense index. Ids are usually dense integers, so a direct table (one
/// 4-byte slot per id up to the largest) replaces hashing on every event row; sparse ids fall
/// back to a hash map.
struct PatientIndex {
    direct: Vec<u32>,
    map: FxHashMap<i64, u32>,
    len: usize,
}

impl PatientIndex {
    fn new(ids: &[i64]) -> PatientIndex {
        let max = ids.iter().copied().max().unwrap_or(0);
        if max >= 0 && (max as u64) < 16 * ids.len() as u64 + 1024 {
            let mut direct = vec![u32::MAX; max as usize + 1];
            for (i, &id) in ids.iter().enumerate() {
                direct[id as usize] = i as u32;
            }
            PatientIndex {
                direct,
                map: FxHashMap::default(),
                len: ids.len(),
            }
        } else {
            let map = ids
                .iter()
                .enumerate()
                .map(|(i, &id)| (id, i as u32))
                .collect();
            PatientIndex {
                direct: Vec::new(),
                map,
                len: ids.len(),
            }
        }
    }

    #[inline]
    fn get(&self, id: i64) -> Option<u32> {
        if self.direct.is_empty() {
            return self.map.get(&id).copied();
        }
        self.direct
            .get(usize::try_from(id).ok()?)
            .copied()
            .filter(|&p| p != u32::MAX)
    }
}

struct Orphans {
    count: usize,
    first: Option<(i64, usize)>,
}

impl Orphans {
    fn new() -> Self {
        Orphans {
            count: 0,
            first: None,
        }
    }
    fn note(&mut self, id: i64, row: usize) {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some((id, row));
        }
    }
    /// Error out, or record the skip, as the options say.
    fn settle(
        self,
        src: &Source,
        opts: &LoadOptions,
        skipped: &mut Vec<(String, usize)>,
    ) -> Result<(), ExtractError> {
        let Some((id, row)) = self.first else {
            return Ok(());
        };
        if opts.skip_orphans {
            skipped.push((src.path.display().to_string(), self.count));
            return Ok(());
        }
        Err(ExtractError::Orphans {
            path: src.path.clone(),
            count: self.count,
            first_id: id.to_string(),
            first_at: src.location(row),
        })
    }
}

pub(super) fn load(dir: &Path, opts: &LoadOptions) -> Result<Extract, ExtractError> {
    let mut ex = Extract::default();
    let index = load_patients(dir, &mut ex)?;
    load_registrations(dir, &index, opts, &mut ex)?;
    ex.medications = load_events(
        dir,
        Table::Medications,
        &index,
        opts,
        &mut ex.orphans_skipped,
    )?;
    ex.clinical_events = load_events(
        dir,
        Table::ClinicalEvents,
        &index,
        opts,
        &mut ex.orphans_skipped,
    )?;
    Ok(ex)
}

fn load_patients(dir: &Path, ex: &mut Extract) -> Result<PatientIndex, ExtractError> {
    let src = read_source(
        dir,
        "patients",
        &["patient_id", "date_of_birth", "sex"],
        &["date_of_death"],
    )?;
    if src.n_rows() == 0 {
        return Err(ExtractError::Invalid {
            path: src.path.clone(),
            message: "the patients table has no rows".into(),
        });
    }
    let ids = src.ids("patient_id")?;
    let dob = src.dates("date_of_birth", false)?;
    let death = if src.has("date_of_death") {
        src.dates("date_of_death", true)?
    } else {
        vec![NO_DATE; ids.len()]
    };
    let sex_col = src.strings("sex")?;
    let mut sex = Vec::with_capacity(ids.len());
    for (i, s) in sex_col.iter().enumerate() {
        match Sex::parse(s) {
            Some(v) => sex.push(v),
            None => {
                return Err(src.bad(
                    i,
                    "sex",
                    "unknown sex",
                    s,
                    "male, female, intersex, unknown (or M, F, I, U)",
                ))
            }
        }
    }
    for (i, (&b, &d)) in dob.iter().zip(&death).enumerate() {
        if d != NO_DATE && d < b {
            return Err(src.bad(
                i,
                "date_of_death",
                "death before birth",
                &dates::format_iso(d),
                "a date of death on or after the date of birth",
            ));
        }
    }
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_unstable_by_key(|&i| (ids[i], i));
    for w in order.windows(2) {
        if ids[w[0]] == ids[w[1]] {
            let first = src.location(w[0]);
            return Err(src.bad(
                w[1],
                "patient_id",
                &format!("duplicate patient (first at {first})"),
                &ids[w[1]].to_string(),
                "each patient_id once",
            ));
        }
    }
    ex.patient_ids = order.iter().map(|&i| ids[i]).collect();
    ex.date_of_birth = order.iter().map(|&i| dob[i]).collect();
    ex.sex = order.iter().map(|&i| sex[i]).collect();
    ex.date_of_death = order.iter().map(|&i| death[i]).collect();
    Ok(PatientIndex::new(&ex.patient_ids))
}

/// Sort practice ids numerically when every id is digits, otherwise as text.
fn practice_order(names: &[String]) -> Vec<usize> {
    let numeric = names
        .iter()
        .all(|n| !n.is_empty() && n.len() < 19 && n.bytes().all(|b| b.is_ascii_digit()));
    let mut order: Vec<usize> = (0..names.len()).collect();
    if numeric {
        order.sort_by_key(|&i| {
            (
                names[i].parse::<u64>().unwrap_or(u64::MAX),
                names[i].clone(),
            )
        });
    } else {
        order.sort_by(|&a, &b| names[a].cmp(&names[b]));
    }
    order
}

fn load_registrations(
    dir: &Path,
    index: &PatientIndex,
    opts: &LoadOptions,
    ex: &mut Extract,
) -> Result<(), ExtractError> {
    let src = read_source(
        dir,
        "practice_registrations",
        &["patient_id", "start_date", "end_date", "practice_pseudo_id"],
        &[],
    )?;
    let ids = src.ids("patient_id")?;
    let start = src.dates("start_date", false)?;
    let end = src.dates("end_date", true)?;
    let practice_col = {
        let col = src.col("practice_pseudo_id")?;
        if col.dtype().is_integer() {
            let cast = col.cast(&DataType::String).map_err(|e| src.polars(e))?;
            StrCol(cast.str().map_err(|e| src.polars(e))?.clone())
        } else {
            src.strings("practice_pseudo_id")?
        }
    };
    let mut names: Vec<String> = Vec::new();
    let mut name_ids: FxHashMap<String, u32> = FxHashMap::default();
    let mut practice = Vec::with_capacity(ids.len());
    for (i, p) in practice_col.iter().enumerate() {
        let p = p.trim();
        if p.is_empty() {
            return Err(src.bad(i, "practice_pseudo_id", "empty value", "", "a practice id"));
        }
        let id = *name_ids.entry(p.to_string()).or_insert_with(|| {
            names.push(p.to_string());
            (names.len() - 1) as u32
        });
        practice.push(id);
    }
    for i in 0..ids.len() {
        if end[i] != NO_DATE && end[i] < start[i] {
            return Err(src.bad(
                i,
                "end_date",
                "registration ends before it starts",
                &dates::format_iso(end[i]),
                &format!(
                    "an end_date on or after the start_date {}",
                    dates::format_iso(start[i])
                ),
            ));
        }
    }
    // Renumber practices in their output order.
    let order = practice_order(&names);
    let mut rank = vec![0u32; names.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r as u32;
    }
    ex.practices = order.iter().map(|&i| names[i].clone()).collect();

    let mut orphans = Orphans::new();
    let mut patient = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        match index.get(*id) {
            Some(p) => patient.push(p),
            None => {
                orphans.note(*id, i);
                patient.push(u32::MAX);
            }
        }
    }
    orphans.settle(&src, opts, &mut ex.orphans_skipped)?;
    let (offsets, perm) = group_by_patient(&patient, ex.n_patients());
    ex.registrations = Registrations {
        offsets,
        start: perm.iter().map(|&i| start[i]).collect(),
        end: perm.iter().map(|&i| end[i]).collect(),
        practice: perm.iter().map(|&i| rank[practice[i] as usize]).collect(),
    };
    Ok(())
}

/// Counting sort by patient: offsets per patient and the row permutation. Stable, and rows
/// whose patient is `u32::MAX` (skipped orphans, dropped codes) are left out.
fn group_by_patient(patient: &[u32], n: usize) -> (Vec<usize>, Vec<usize>) {
    let mut offsets = vec![0usize; n + 1];
    for &p in patient {
        if p != u32::MAX {
            offsets[p as usize + 1] += 1;
        }
    }
    for i in 0..n {
        offsets[i + 1] += offsets[i];
    }
    let mut next = offsets.clone();
    let mut perm = vec![0usize; offsets[n]];
    for (row, &p) in patient.iter().enumerate() {
        if p != u32::MAX {
            perm[next[p as usize]] = row;
            next[p as usize] += 1;
        }
    }
    (offsets, perm)
}

/// Rows per Parquet batch, and bytes per CSV batch: a table is converted batch by batch so
/// that only one batch of raw strings is in memory at a time.
const BATCH_ROWS: usize = 1 << 22;
const BATCH_BYTES: usize = 192 << 20;
/// Rows per parallel task inside a batch.
const TASK_ROWS: usize = 1 << 16;

/// Read a table in batches, calling `f(frame, rows_before)` for each.
///
/// CSV is cut at line ends into blocks that polars parses from memory, each behind a copy of
/// the header. A line end inside a quoted field would make such a cut wrong, so as soon as a
/// block contains a quote character the rest of the file is read as one block (a block
/// boundary before the first quote is always a record boundary).
fn for_each_batch(
    path: &Path,
    format: Format,
    header: &[String],
    wanted: &[String],
    mut f: impl FnMut(DataFrame, usize) -> Result<(), ExtractError>,
) -> Result<usize, ExtractError> {
    use std::io::Read;
    let unreadable = |e: &dyn std::fmt::Display| ExtractError::Unreadable {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut rows = 0;
    match format {
        Format::Parquet => {
            let file = File::open(path).map_err(|e| unreadable(&e))?;
            let n = ParquetReader::new(file)
                .num_rows()
                .map_err(|e| unreadable(&e))?;
            let mut offset = 0;
            while offset < n {
                let t = std::time::Instant::now();
                let frame = read_parquet_slice(path, wanted, Some((offset, BATCH_ROWS)))
                    .map_err(|e| unreadable(&e))?;
                if std::env::var_os("RXSCAN_TRACE").is_some() {
                    eprintln!(
                        "trace: read parquet rows {offset}.. in {:.3}s",
                        t.elapsed().as_secs_f64()
                    );
                }
                let h = frame.height();
                f(frame, offset)?;
                offset += BATCH_ROWS;
                rows += h;
            }
        }
        Format::Csv => {
            let mut file = File::open(path).map_err(|e| unreadable(&e))?;
            let mut head = Vec::new();
            let mut body = Vec::new();
            // The header line (through its newline).
            let mut byte = [0u8; 1];
            loop {
                match file.read(&mut byte).map_err(|e| unreadable(&e))? {
                    0 => break,
                    _ => {
                        head.push(byte[0]);
                        if byte[0] == b'\n' {
                            break;
                        }
                    }
                }
            }
            let mut eof = false;
            while !eof {
                let before = body.len();
                (&mut file)
                    .take((BATCH_BYTES - before.min(BATCH_BYTES)) as u64 + 1)
                    .read_to_end(&mut body)
                    .map_err(|e| unreadable(&e))?;
                eof = body.len() == before
                    || body.len() - before <= BATCH_BYTES - before.min(BATCH_BYTES);
                if memchr::memchr(b'"', &body).is_some() {
                    file.read_to_end(&mut body).map_err(|e| unreadable(&e))?;
                    eof = true;
                }
                let cut = if eof {
                    body.len()
                } else {
                    match memchr::memrchr(b'\n', &body) {
                        Some(i) => i + 1,
                        None => continue, // no complete line yet: read on
                    }
                };
                let carry = body.split_off(cut);
                if !body.iter().all(|b| b.is_ascii_whitespace()) {
                    let mut block = Vec::with_capacity(head.len() + body.len());
                    block.extend_from_slice(&head);
                    block.extend_from_slice(&body);
                    let frame = match read_csv_bytes(Some(block), path, wanted) {
                        Ok(fr) => fr,
                        Err(e) => return Err(diagnose_csv(path, header, &e)),
                    };
                    let h = frame.height();
                    f(frame, rows)?;
                    rows += h;
                }
                body = carry;
            }
        }
    }
    Ok(rows)
}

/// The rows of one task that survive: their patient has a code worth keeping.
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

fn load_events(
    dir: &Path,
    table: Table,
    index: &PatientIndex,
    opts: &LoadOptions,
    skipped: &mut Vec<(String, usize)>,
) -> Result<EventTable, ExtractError> {
    use std::sync::atomic::{AtomicUsize, Ordering};
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
        Table::Medications => opts.keep_medication_codes.as_ref(),
        Table::ClinicalEvents => opts.keep_event_codes.as_ref(),
    };
    let dict = std::sync::Mutex::new(CodeDict::new(keep));
    // With a fixed code set, lookups are read-only and run in parallel; interning every code
    // needs the dictionary mutably and runs as one task per batch.
    let fixed: Option<FixedCodes> = keep.map(|_| {
        dict.lock()
            .map(|d| FixedCodes::new(&d.ids))
            .unwrap_or_else(|_| FixedCodes::new(&FxHashMap::default()))
    });
    let task_rows = if fixed.is_some() {
        TASK_ROWS
    } else {
        usize::MAX
    };
    let has_comparator = header.iter().any(|h| h == "comparator");

    let process = |src: &Source| -> Result<Piece, ExtractError> {
        let ids = src.ids("patient_id")?;
        let day = src.dates("date", false)?;
        let codes = src.strings(code_col)?;
        let (value, comparator) = if is_events {
            let v = numbers(src, "numeric_value")?;
            let c = if has_comparator {
                let mut out = Vec::with_capacity(ids.len());
                for (i, c) in src.strings("comparator")?.iter().enumerate() {
                    match Comparator::parse(c.trim()) {
                        Some(v) => out.push(v as u8),
                        None => {
                            return Err(src.bad(
                                i,
                                "comparator",
                                "unknown comparator",
                                c,
                                "one of ~ = >= > < <= or empty",
                            ))
                        }
                    }
                }
                out
            } else {
                vec![0; ids.len()]
            };
            (v, c)
        } else {
            (Vec::new(), Vec::new())
        };
        let mut piece = Piece::default();
        let mut interning = if fixed.is_none() {
            dict.lock().ok()
        } else {
            None
        };
        for (i, c) in codes.iter().enumerate() {
            let c = c.trim();
            if c.is_empty() {
                return Err(src.bad(i, code_col, "empty code", "", "a code"));
            }
            let Some(p) = index.get(ids[i]) else {
                piece.orphans += 1;
                if piece.first_orphan.is_none() {
                    piece.first_orphan = Some((ids[i], src.row_offset + i));
                }
                continue;
            };
            let code = match (&fixed, interning.as_mut()) {
                (Some(set), _) => set.get(c),
                (None, Some(d)) => d.get(c),
                (None, None) => None,
            };
            let Some(code) = code else { continue };
            piece.patient.push(p);
            piece.day.push(day[i]);
            piece.code.push(code);
            if is_events {
                piece.value.push(value[i]);
                piece.comparator.push(comparator[i]);
            }
        }
        Ok(piece)
    };

    let timer = std::time::Instant::now();
    let trace = std::env::var_os("RXSCAN_TRACE").is_some();
    let mut all = Piece::default();
    let rows_read = for_each_batch(&path, format, &header, &wanted, |frame, offset| {
        let n = frame.height();
        let starts: Vec<usize> = (0..n).step_by(task_rows.min(n.max(1))).collect();
        let failed = AtomicUsize::new(usize::MAX);
        let pieces: Vec<Result<Piece, ExtractError>> = starts
            .par_iter()
            .enumerate()
            .map(|(t, &start)| {
                if failed.load(Ordering::Relaxed) < t {
                    return Ok(Piece::default()); // an earlier task failed; its error is reported
                }
                let len = task_rows.min(n - start);
                let src = Source {
                    path: path.clone(),
                    format,
                    header: header.clone(),
                    frame: frame.slice(start as i64, len),
                    row_offset: offset + start,
                };
                let r = process(&src);
                if r.is_err() {
                    failed.fetch_min(t, Ordering::Relaxed);
                }
                r
            })
            .collect();
        for p in pieces {
            let p = p?;
            all.orphans += p.orphans;
            if all.first_orphan.is_none() {
                all.first_orphan = p.first_orphan;
            }
            all.patient.extend_from_slice(&p.patient);
            all.day.extend_from_slice(&p.day);
            all.code.extend_from_slice(&p.code);
            all.value.extend_from_slice(&p.value);
            all.comparator.extend_from_slice(&p.comparator);
        }
        Ok(())
    })?;
    if trace {
        eprintln!(
            "trace: {}: read+validate {rows_read} rows in {:.2}s, kept {}",
            table.name(),
            timer.elapsed().as_secs_f64(),
            all.patient.len()
        );
    }
    let anchor = Source {
        path: path.clone(),
        format,
        header: header.clone(),
        frame: DataFrame::empty(),
        row_offset: 0,
    };
    let orphans = Orphans {
        count: all.orphans,
        first: all.first_orphan,
    };
    orphans.settle(&anchor, opts, skipped)?;
    let (offsets, perm) = group_by_patient(&all.patient, index.len);
    let codes = dict.into_inner().map(|d| d.codes).unwrap_or_default();
    // Gathering by the permutation is random access; spread it over the threads.
    fn gather<T: Copy + Send + Sync>(perm: &[usize], col: &[T]) -> Vec<T> {
        perm.par_iter().map(|&i| col[i]).collect()
    }
    let grouped = EventTable {
        offsets,
        code: gather(&perm, &all.code),
        day: gather(&perm, &all.day),
        value: if is_events {
            gather(&perm, &all.value)
        } else {
            Vec::new()
        },
        comparator: if is_events {
            gather(&perm, &all.comparator)
        } else {
            Vec::new()
        },
        codes,
        rows_read,
    };
    if trace {
        eprintln!(
            "trace: {}: grouped in {:.2}s total",
            table.name(),
            timer.elapsed().as_secs_f64()
        );
    }
    Ok(grouped)
}

/// `numeric_value`: finite numbers, or empty (stored as NaN).
fn numbers(src: &Source, name: &str) -> Result<Vec<f64>, ExtractError> {
    let col = src.col(name)?;
    let expected = "a number like 42 or 37.5, or empty";
    match col.dtype() {
        DataType::String => {
            let ca = col.str().map_err(|e| src.polars(e))?;
            let mut out = Vec::with_capacity(ca.len());
            for (i, v) in ca.iter().enumerate() {
                let s = v.unwrap_or("");
                if s.is_empty() {
                    out.push(f64::NAN);
                    continue;
                }
                let ok = s
                    .bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
                match s.parse::<f64>() {
                    Ok(x) if ok && x.is_finite() => out.push(x),
                    _ => return Err(src.bad(i, name, "invalid number", s, expected)),
                }
            }
            Ok(out)
        }
        dt if dt.is_primitive_numeric() => {
            let cast = col.cast(&DataType::Float64).map_err(|e| src.polars(e))?;
            let ca = cast.f64().map_err(|e| src.polars(e))?;
            let mut out = Vec::with_capacity(ca.len());
            for (i, v) in ca.iter().enumerate() {
                match v {
                    None => out.push(f64::NAN),
                    Some(x) if x.is_finite() => out.push(x),
                    Some(x) => {
                        return Err(src.bad(i, name, "invalid number", &x.to_string(), expected))
                    }
                }
            }
            Ok(out)
        }
        DataType::Null => Ok(vec![f64::NAN; col.len()]),
        other => Err(src.wrong_type(name, other, "a numeric column")),
    }
}
