//! Reading the four tables with polars and converting them to the evaluator's layout: the
//! patients and registrations here, the event tables in `events.rs`, which falls back on the
//! exact validators defined here.
//!
//! The exact validators convert each column to a plain typed vector with full validation, so a
//! bad value anywhere in a file is reported, not only in rows that happen to matter. CSV columns are read as strings and parsed here (polars' own parsers accept dates
//! and numbers the spec calls broken, and cannot say which line failed); Parquet columns are
//! taken in their stored types where those are unambiguous.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use rustc_hash::FxHashMap;

use super::csv_diagnose::diagnose_csv;
use super::error::{BadValue, ExtractError, Location};
use super::model::{Extract, Registrations, Sex, NO_DATE};
use super::options::LoadOptions;
use super::values::{parse_id, PatientIndex};
use crate::dates::{self, Day};
use crate::plan::Table;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Csv,
    Parquet,
}

/// One table's file, read into a frame, with its header for column numbers.
pub(super) struct Source {
    pub(super) path: PathBuf,
    pub(super) format: Format,
    pub(super) header: Vec<String>,
    pub(super) frame: DataFrame,
    /// Records before this frame's first row (when a table is read in batches).
    pub(super) row_offset: usize,
}

impl Source {
    fn column_no(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .map_or(0, |i| i + 1)
    }

    pub(super) fn location(&self, row: usize) -> Location {
        let row = row + self.row_offset;
        match self.format {
            Format::Parquet => Location::Row(row + 1),
            Format::Csv => Location::Line(
                super::csv_diagnose::record_at(&self.path, row + 1).map_or(row + 2, |r| r.line),
            ),
        }
    }

    pub(super) fn bad(
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
                super::csv_diagnose::short_row(
                    &self.path,
                    self.row_offset + row + 1,
                    self.header.len(),
                )
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

    pub(super) fn col(&self, name: &str) -> Result<&Column, ExtractError> {
        self.frame.column(name).map_err(|e| ExtractError::Invalid {
            path: self.path.clone(),
            message: e.to_string(),
        })
    }

    fn has(&self, name: &str) -> bool {
        self.header.iter().any(|h| h == name)
    }

    pub(super) fn n_rows(&self) -> usize {
        self.frame.height()
    }

    pub(super) fn wrong_type(&self, name: &str, found: &DataType, expected: &str) -> ExtractError {
        ExtractError::BadColumnType {
            path: self.path.clone(),
            column: name.to_string(),
            found: found.to_string(),
            expected: expected.to_string(),
        }
    }

    /// Non-negative integer ids (patient_id).
    pub(super) fn ids(&self, name: &str) -> Result<Vec<i64>, ExtractError> {
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
    pub(super) fn dates(&self, name: &str, optional: bool) -> Result<Vec<Day>, ExtractError> {
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
    pub(super) fn strings(&self, name: &str) -> Result<StrCol, ExtractError> {
        let col = self.col(name)?;
        match col.dtype() {
            DataType::String => Ok(StrCol(col.str().map_err(|e| self.polars(e))?.clone())),
            DataType::Null => Ok(StrCol(StringChunked::full_null(name.into(), col.len()))),
            other => Err(self.wrong_type(name, other, "a string column")),
        }
    }

    pub(super) fn polars(&self, e: PolarsError) -> ExtractError {
        ExtractError::Invalid {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }
}

pub(super) struct StrCol(StringChunked);

impl StrCol {
    pub(super) fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.iter().map(|v| v.unwrap_or(""))
    }
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
    let unreadable = |e: &dyn std::fmt::Display| ExtractError::unreadable(&path, e);
    let frame = match format {
        Format::Csv => match read_csv_bytes(None, &path, &wanted) {
            Ok(f) => f,
            Err(e) => return Err(diagnose_csv(&path, &header, &e)),
        },
        Format::Parquet => {
            read_parquet_slice(&path, &wanted, None, None).map_err(|e| unreadable(&e))?
        }
    };
    Ok(Source {
        path,
        format,
        header,
        frame,
        row_offset: 0,
    })
}

/// Read CSV with every column as a string, from memory or from the file, then keep the
/// wanted columns. Every column is parsed: polars checks that a row has no more fields than
/// the header only then (asked for some columns, it stops after the last one asked for and a
/// row with extra fields passes silently; found by the fuzz target `extract_csv`, where a
/// plain load accepted what the line scanner refused).
pub(super) fn read_csv_bytes(
    bytes: Option<Vec<u8>>,
    path: &Path,
    wanted: &[String],
) -> PolarsResult<DataFrame> {
    let opts = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .with_raise_if_empty(false);
    let frame = match bytes {
        Some(b) => opts
            .into_reader_with_file_handle(std::io::Cursor::new(b))
            .finish(),
        None => opts
            .try_into_reader_with_file_path(Some(path.to_path_buf()))?
            .finish(),
    }?;
    frame.select(wanted.iter().map(|c| PlSmallStr::from(c.as_str())))
}

/// Read rows of a Parquet file; `metadata` (the footer, as read once by the caller) saves
/// parsing it again for every batch.
pub(super) fn read_parquet_slice(
    path: &Path,
    wanted: &[String],
    slice: Option<(usize, usize)>,
    metadata: Option<&polars::io::parquet::metadata::FileMetadataRef>,
) -> PolarsResult<DataFrame> {
    let file = File::open(path)?;
    let mut reader = ParquetReader::new(file);
    if let Some(m) = metadata {
        reader.set_metadata(m.clone());
    }
    reader
        .with_columns(Some(wanted.to_vec()))
        .with_slice(slice)
        .finish()
}

/// Locate a table, read its header and check the required columns. Returns the columns to read.
pub(super) fn open_table(
    dir: &Path,
    table: &str,
    required: &[&str],
    optional: &[&str],
) -> Result<(PathBuf, Format, Vec<String>, Vec<String>), ExtractError> {
    let (path, format) = locate(dir, table)?;
    let unreadable = |e: &dyn std::fmt::Display| ExtractError::unreadable(&path, e);
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
                Ok(_) if super::csv_diagnose::lone_cr(&path) => {
                    let message = "lines end with a lone carriage return (CR, old Mac style); rxscan reads LF or CRLF line endings".to_string();
                    return Err(ExtractError::Malformed {
                        path,
                        location: Location::Line(1),
                        message,
                    });
                }
                // A quote in the header that runs on past its line would make the header
                // several lines long, while the data are read from the second line.
                Ok(true) if rdr.position().line() > 2 => {
                    return Err(ExtractError::Malformed {
                        path,
                        location: Location::Line(1),
                        message: "a quoted column name in the header runs past the end of the line (a stray `\"`?); the header must be one line".to_string(),
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
                        message: super::csv_diagnose::header_not_utf8(&path),
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

pub(super) struct Orphans {
    pub(super) count: usize,
    pub(super) first: Option<(i64, usize)>,
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
    pub(super) fn settle(
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
    let mut ex = Extract {
        index_date_range: opts.index_date_range,
        ..Extract::default()
    };
    let timer = std::time::Instant::now();
    let index = load_patients(dir, &mut ex)?;
    load_registrations(dir, &index, opts, &mut ex)?;
    ex.patients_time = timer.elapsed();
    ex.medications = super::events::load_events(
        dir,
        Table::Medications,
        &index,
        opts,
        &mut ex.orphans_skipped,
    )?;
    ex.clinical_events = super::events::load_events(
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
        let id = match name_ids.get(p) {
            Some(&id) => id,
            None => {
                names.push(p.to_string());
                name_ids.insert(p.to_string(), (names.len() - 1) as u32);
                (names.len() - 1) as u32
            }
        };
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
pub(super) fn group_by_patient(patient: &[u32], n: usize) -> (Vec<usize>, Vec<usize>) {
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
