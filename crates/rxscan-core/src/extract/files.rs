//! Finding a table's file in the extract folder, reading its header and checking its columns,
//! then reading its rows with polars (CSV with every column as a string, Parquet in its stored
//! types).
//!
//! The header is checked before any row is read, so that a missing, misspelt or repeated column
//! is reported by name (with a "did you mean") rather than as a bad value somewhere below.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::csv_diagnose::diagnose_csv;
use super::error::{ExtractError, Location};
use super::source::{Format, Source};

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

pub(super) fn read_source(
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
fn read_csv_bytes(
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
