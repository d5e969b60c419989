//! Reading codelist CSV files (OpenCodelists layout: a header row, a code column, usually a
//! `term` column). Codes are trimmed strings, never numbers: dm+d ids reach 17 digits.
//!
//! The bytes come through [`PackFiles`], so a pack compiled into a program reads its own copy;
//! the trait lives here, beside its one reader, and `compile` re-exports it.

use std::path::Path;

/// Reads the files a pack's rules refer to (codelists), by the path resolved against the
/// folder of the rule file that names them. A pack on disk reads the file system
/// ([`DiskFiles`]); a pack compiled into a program reads its own copy.
pub trait PackFiles: Sync {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>>;
}

/// Pack files read from the file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiskFiles;

impl PackFiles for DiskFiles {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        if path.is_dir() {
            return Err(std::io::Error::other(format!(
                "{} is a directory",
                path.display()
            )));
        }
        std::fs::read(path)
    }
}

/// Why a codelist could not be read; the caller turns it into a diagnostic at the declaration.
#[derive(Debug)]
pub enum CodelistProblem {
    Unreadable(String),
    NoColumn { column: String, found: Vec<String> },
    BadRow { line: u64, message: String },
    Empty,
}

/// The distinct codes of `column`, sorted, each with its `term` (the first row's, trimmed;
/// empty when the file has no `term` column): evidence and action lists name a row by it.
pub fn read_codes(
    files: &dyn PackFiles,
    path: &Path,
    column: &str,
) -> Result<Vec<(String, String)>, CodelistProblem> {
    let bytes = files
        .read(path)
        .map_err(|e| CodelistProblem::Unreadable(e.to_string()))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes.as_slice());
    let headers = reader
        .headers()
        .map_err(|e| CodelistProblem::Unreadable(e.to_string()))?
        .clone();
    let names: Vec<String> = headers
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect();
    let Some(idx) = names.iter().position(|h| h == column) else {
        return Err(CodelistProblem::NoColumn {
            column: column.to_string(),
            found: names,
        });
    };
    let term = names.iter().position(|h| h == "term");
    let mut codes = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            CodelistProblem::BadRow {
                line,
                message: e.to_string(),
            }
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let code = record.get(idx).unwrap_or("").trim();
        if code.is_empty() {
            return Err(CodelistProblem::BadRow {
                line,
                message: format!("empty `{column}`"),
            });
        }
        let text = term.and_then(|t| record.get(t)).unwrap_or("").trim();
        codes.push((code.to_string(), text.to_string()));
    }
    if codes.is_empty() {
        return Err(CodelistProblem::Empty);
    }
    // Stable: the first row of a repeated code gives its term.
    codes.sort_by(|a, b| a.0.cmp(&b.0));
    codes.dedup_by(|a, b| a.0 == b.0);
    Ok(codes)
}
