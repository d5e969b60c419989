//! Finding a table's file in the extract folder, reading its header and checking its columns,
//! then reading its rows with polars (CSV with every column as a string, Parquet in its stored
//! types).
//!
//! The header is checked before any row is read, so that a missing, misspelt or repeated column
//! is reported by name (with a "did you mean") rather than as a bad value somewhere below.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::columns::{resolve, Columns};
use super::csv_diagnose::diagnose_csv;
use super::error::{ExtractError, Location};
use super::model::LoadReport;
use super::options::LoadOptions;
use super::source::{Format, Source};
use crate::diagnostics::{Code, Diagnostic};

/// How a CSV file is compressed, by its name: `.gz` (gzip) and `.zst` (zstd) are read
/// transparently, streamed through the decoder (never inflated to disk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub(super) fn of(path: &Path) -> Compression {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("gz") => Compression::Gzip,
            Some(e) if e.eq_ignore_ascii_case("zst") => Compression::Zstd,
            _ => Compression::None,
        }
    }
}

/// A CSV file's text, decompressed as it is read when its name says it is compressed.
pub(super) fn open_text(path: &Path) -> std::io::Result<Box<dyn std::io::Read + Send>> {
    let file = File::open(path)?;
    Ok(match Compression::of(path) {
        Compression::None => Box::new(file),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(
            std::io::BufReader::with_capacity(1 << 20, file),
        )),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(file)?),
    })
}

fn format_of(path: &Path) -> Format {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
    {
        Format::Parquet
    } else {
        Format::Csv
    }
}

/// Find a table's files in `dir`: the mapping's `file` (a glob: every file it matches, in
/// path order), or `table.csv` (also `.csv.gz`, `.csv.zst`) or `table.parquet`.
fn locate(
    dir: &Path,
    table: &str,
    opts: &LoadOptions,
) -> Result<Vec<(PathBuf, Format)>, ExtractError> {
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
    let mapping = opts.mapping.as_deref();
    if let Some((m, (file, span))) = mapping.and_then(|m| Some((m, m.table(table)?.file.as_ref()?)))
    {
        let found = super::mapping::matching_files(dir, file);
        if found.is_empty() {
            let d = Diagnostic::error(
                Code::MappingFileNotFound,
                *span,
                format!("no file `{file}` in {}", dir.display()),
                "this file",
            )
            .with_hint(format!("the file is named relative to {}", opts.names.data));
            return Err(ExtractError::Mapping(Box::new(m.error(vec![d]))));
        }
        return Ok(found
            .into_iter()
            .map(|p| {
                let f = format_of(&p);
                (p, f)
            })
            .collect());
    }
    let candidates = [
        (dir.join(format!("{table}.csv")), Format::Csv),
        (dir.join(format!("{table}.csv.gz")), Format::Csv),
        (dir.join(format!("{table}.csv.zst")), Format::Csv),
        (dir.join(format!("{table}.parquet")), Format::Parquet),
    ];
    let found: Vec<(PathBuf, Format)> =
        candidates.into_iter().filter(|(p, _)| p.exists()).collect();
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
            Ok(vec![(p, f)])
        }
        2 if found
            .iter()
            .all(|(p, _)| Compression::of(p) == Compression::None) =>
        {
            Err(ExtractError::AmbiguousTable {
                dir: dir.to_path_buf(),
                table: table.to_string(),
            })
        }
        _ => {
            let names: Vec<String> = found
                .iter()
                .filter_map(|(p, _)| Some(p.file_name()?.to_string_lossy().into_owned()))
                .collect();
            Err(ExtractError::Invalid {
                path: dir.to_path_buf(),
                message: format!(
                    "the `{table}` table is in {} files ({}); keep one so it is clear which is read",
                    names.len(),
                    names.join(", ")
                ),
            })
        }
    }
}

/// A table's file, opened: where it is, how it is stored, and its columns resolved.
pub(super) struct Opened {
    pub(super) path: PathBuf,
    pub(super) format: Format,
    pub(super) columns: Columns,
}

pub(super) fn read_source(
    dir: &Path,
    table: &str,
    required: &[&str],
    optional: &[&str],
    opts: &LoadOptions,
    report: &mut LoadReport,
) -> Result<Vec<(Source, Columns)>, ExtractError> {
    let mut out = Vec::new();
    for opened in open_table(dir, table, required, optional, opts, report)? {
        out.push(read_file(opened)?);
    }
    Ok(out)
}

/// One file of a small table, read whole.
fn read_file(opened: Opened) -> Result<(Source, Columns), ExtractError> {
    let Opened {
        path,
        format,
        columns,
    } = opened;
    let unreadable = |e: &dyn std::fmt::Display| ExtractError::unreadable(&path, e);
    let frame = match format {
        Format::Csv => {
            let bytes = match Compression::of(&path) {
                Compression::None => None,
                _ => {
                    let mut b = Vec::new();
                    std::io::Read::read_to_end(
                        &mut open_text(&path).map_err(|e| unreadable(&e))?,
                        &mut b,
                    )
                    .map_err(|e| unreadable(&e))?;
                    Some(b)
                }
            };
            match read_csv_bytes(bytes, &path, &columns) {
                Ok(f) => f,
                Err(e) => return Err(diagnose_csv(&path, &columns.header, &e)),
            }
        }
        Format::Parquet => {
            read_parquet_slice(&path, &columns, None, None).map_err(|e| unreadable(&e))?
        }
    };
    let src = Source {
        path,
        format,
        header: columns.header.clone(),
        file_header: columns.file_header.clone(),
        dates: columns.date_format.clone(),
        frame,
        row_offset: 0,
    };
    Ok((src, columns))
}

/// Read CSV with every column as a string, from memory or from the file, then keep the
/// wanted columns. Every column is parsed: polars checks that a row has no more fields than
/// the header only then (asked for some columns, it stops after the last one asked for and a
/// row with extra fields passes silently; found by the fuzz target `extract_csv`, where a
/// plain load accepted what the line scanner refused).
fn read_csv_bytes(
    bytes: Option<Vec<u8>>,
    path: &Path,
    columns: &Columns,
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
    let mut frame = frame.select(
        columns
            .wanted_in_file
            .iter()
            .map(|c| PlSmallStr::from(c.as_str())),
    )?;
    frame.set_column_names(&columns.wanted)?;
    Ok(frame)
}

/// Read rows of a Parquet file, its columns given their contract names; `metadata` (the
/// footer, as read once by the caller) saves parsing it again for every batch.
pub(super) fn read_parquet_slice(
    path: &Path,
    columns: &Columns,
    slice: Option<(usize, usize)>,
    metadata: Option<&polars::io::parquet::metadata::FileMetadataRef>,
) -> PolarsResult<DataFrame> {
    let file = File::open(path)?;
    let mut reader = ParquetReader::new(file);
    if let Some(m) = metadata {
        reader.set_metadata(m.clone());
    }
    let mut frame = reader
        .with_columns(Some(columns.wanted_in_file.clone()))
        .with_slice(slice)
        .finish()?;
    if columns.renamed() {
        // The reader returns the columns in the file's order.
        for (file_name, name) in columns.wanted_in_file.iter().zip(&columns.wanted) {
            frame.rename(file_name, name.as_str().into())?;
        }
    }
    Ok(frame)
}

/// Locate a table's files, read each header and resolve its columns.
pub(super) fn open_table(
    dir: &Path,
    table: &str,
    required: &[&str],
    optional: &[&str],
    opts: &LoadOptions,
    report: &mut LoadReport,
) -> Result<Vec<Opened>, ExtractError> {
    let mut out = Vec::new();
    for (path, format) in locate(dir, table, opts)? {
        out.push(open_file(
            path, format, table, required, optional, opts, report,
        )?);
    }
    Ok(out)
}

/// Open one file of a table: read its header and resolve its columns.
fn open_file(
    path: PathBuf,
    format: Format,
    table: &str,
    required: &[&str],
    optional: &[&str],
    opts: &LoadOptions,
    report: &mut LoadReport,
) -> Result<Opened, ExtractError> {
    let unreadable = |e: &dyn std::fmt::Display| ExtractError::unreadable(&path, e);
    let header: Vec<String> = match format {
        Format::Csv => {
            if std::fs::metadata(&path).map_err(|e| unreadable(&e))?.len() == 0 {
                return Err(ExtractError::EmptyFile {
                    path,
                    expected: required.join(","),
                });
            }
            let mut rdr = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(open_text(&path).map_err(|e| unreadable(&e))?);
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
    let columns = resolve(
        &path, format, table, header, required, optional, opts, report,
    )?;
    Ok(Opened {
        path,
        format,
        columns,
    })
}
