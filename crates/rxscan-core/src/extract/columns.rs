//! A table's header, resolved: which of the file's columns holds each contract field, by the
//! mapping's word, by the contract's name, or by the contract's name written with another case
//! or surrounding spaces (matched, with a note); and which fields are absent.
//!
//! Absent columns are said, never assumed: a field the contract requires is an error when it is
//! missing, `patients.date_of_death` included (without it a dead patient whose registration
//! was left open is counted), unless the mapping or `--absent` declares it absent. Only
//! `clinical_events.comparator` may be missing undeclared: it is optional in the contract, and
//! the scan warns which rules read it ([`crate::scan::Scan::warnings`]).
//!
//! The result renames the header: each resolved column gets its contract name, so every reader
//! below sees the contract's names; the file's own names stay for messages.

use std::path::Path;

use super::date_format::DateFormat;
use super::error::{ExtractError, Location};
use super::mapping::{Mapping, TableMap, CONTRACT};
use super::model::{LoadReport, Sex};
use super::options::LoadOptions;
use super::source::Format;
use crate::diagnostics::{did_you_mean, did_you_mean_hint, Code, Diagnostic};

/// A table's columns as resolved against its header.
#[derive(Debug, Clone)]
pub(super) struct Columns {
    /// The header with resolved columns renamed to their contract names.
    pub(super) header: Vec<String>,
    /// The header as the file has it, for messages.
    pub(super) file_header: Vec<String>,
    /// The contract names to read, and the file's names for them (same order).
    pub(super) wanted: Vec<String>,
    pub(super) wanted_in_file: Vec<String>,
    pub(super) date_format: DateFormat,
    pub(super) sex_values: Option<Vec<(String, Sex)>>,
}

impl Columns {
    /// Whether any wanted column has another name in the file.
    pub(super) fn renamed(&self) -> bool {
        self.wanted != self.wanted_in_file
    }
}

fn normal(s: &str) -> String {
    s.trim().to_lowercase()
}

/// Whether the options declare `table.field` absent (`--absent`).
fn declared_absent(opts: &LoadOptions, table: &str, field: &str) -> bool {
    opts.absent
        .iter()
        .any(|a| a.split_once('.') == Some((table, field)))
}

/// Check the fields declared absent against the contract, before anything is read.
pub(super) fn check_absent(opts: &LoadOptions) -> Result<(), ExtractError> {
    for a in &opts.absent {
        let ok = a.split_once('.').is_some_and(|(t, f)| {
            CONTRACT
                .iter()
                .any(|(table, _, absentable)| *table == t && absentable.contains(&f))
        });
        if !ok {
            return Err(ExtractError::BadOption {
                message: format!(
                    "{} {a}: only patients.date_of_death and clinical_events.comparator may be \
                     declared absent",
                    opts.names.absent
                ),
            });
        }
    }
    Ok(())
}

/// Resolve `required` and `optional` fields of `table` against the file's header.
#[allow(clippy::too_many_arguments)]
pub(super) fn resolve(
    path: &Path,
    format: Format,
    table: &str,
    file_header: Vec<String>,
    required: &[&str],
    optional: &[&str],
    opts: &LoadOptions,
    report: &mut LoadReport,
) -> Result<Columns, ExtractError> {
    let mapping: Option<&Mapping> = opts.mapping.as_deref();
    let map: Option<&TableMap> = mapping.and_then(|m| m.table(table));
    let mut header = file_header.clone();
    let mut wanted = Vec::new();
    let mut wanted_in_file = Vec::new();
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    let absentable = CONTRACT
        .iter()
        .find(|c| c.0 == table)
        .map_or(&[][..], |c| c.2);
    for (field, is_required) in required
        .iter()
        .map(|f| (*f, true))
        .chain(optional.iter().map(|f| (*f, false)))
    {
        let decl = map.and_then(|m| m.columns.iter().find(|c| c.field == field));
        let absent_by_option = declared_absent(opts, table, field);
        if decl.is_some_and(|d| d.column.is_none()) || absent_by_option {
            report.absent.push(format!("{table}.{field}"));
            continue;
        }
        let name = decl.and_then(|d| d.column.as_deref()).unwrap_or(field);
        let exact: Vec<usize> = (0..file_header.len())
            .filter(|&i| file_header[i] == name)
            .collect();
        let at = if exact.len() == 1 {
            exact[0]
        } else if exact.len() > 1 {
            return Err(repeated(path, format, name, &exact));
        } else {
            let loose: Vec<usize> = (0..file_header.len())
                .filter(|&i| normal(&file_header[i]) == normal(name))
                .collect();
            match loose.len() {
                1 => {
                    report.notes.push(format!(
                        "{}: column `{}` read as `{name}` (its case or surrounding spaces differ)",
                        path.display(),
                        file_header[loose[0]]
                    ));
                    loose[0]
                }
                0 => {
                    if let Some(d) = decl {
                        let mut diag = Diagnostic::error(
                            Code::MappingColumnNotFound,
                            d.span,
                            format!("column `{name}` is not in the header of {}", path.display()),
                            "not in the header",
                        );
                        let near = did_you_mean_hint(name, file_header.iter().map(String::as_str));
                        diag.hint = Some(match near {
                            Some(h) => h,
                            None => format!("the header has: {}", file_header.join(", ")),
                        });
                        diagnostics.push(diag);
                        continue;
                    }
                    if !is_required {
                        report.absent_found.push(format!("{table}.{field}"));
                        continue;
                    }
                    return Err(missing(
                        path,
                        table,
                        field,
                        &file_header,
                        absentable,
                        map.is_some(),
                        opts.names.absent,
                    ));
                }
                _ => return Err(repeated(path, format, name, &loose)),
            }
        };
        header[at] = field.to_string();
        wanted.push(field.to_string());
        wanted_in_file.push(file_header[at].clone());
    }
    if let (false, Some(m)) = (diagnostics.is_empty(), mapping) {
        return Err(ExtractError::Mapping(Box::new(m.error(diagnostics))));
    }
    // A column the file has under a contract name that another column now takes is not read:
    // rename it so that the renamed header has each name once.
    for i in 0..header.len() {
        if header[i] == file_header[i]
            && !wanted_in_file.contains(&file_header[i])
            && wanted.contains(&header[i])
        {
            header[i] = format!("{} (column {}, not read)", file_header[i], i + 1);
        }
    }
    Ok(Columns {
        header,
        file_header,
        wanted,
        wanted_in_file,
        date_format: map.map(|m| m.date_format.clone()).unwrap_or_default(),
        sex_values: map.and_then(|m| m.sex_values.clone()),
    })
}

fn repeated(path: &Path, format: Format, col: &str, at: &[usize]) -> ExtractError {
    let cols: Vec<String> = at.iter().map(|i| (i + 1).to_string()).collect();
    let message = format!(
        "column `{col}` appears {} times in the header (columns {}); keep one so it is clear which is read",
        at.len(),
        cols.join(" and ")
    );
    match format {
        Format::Csv => ExtractError::Malformed {
            path: path.to_path_buf(),
            location: Location::Line(1),
            message,
        },
        Format::Parquet => ExtractError::Invalid {
            path: path.to_path_buf(),
            message,
        },
    }
}

/// A required field the header does not have.
fn missing(
    path: &Path,
    table: &str,
    field: &str,
    header: &[String],
    absentable: &[&str],
    mapped: bool,
    absent_option: &str,
) -> ExtractError {
    let mut hint = String::new();
    if header.len() == 1 && [';', '\t', '|'].iter().any(|c| header[0].contains(*c)) {
        hint = "; the header looks separated by something other than commas: rxscan reads comma-separated files".into();
    } else if let Some(near) = did_you_mean(field, header.iter().map(String::as_str)) {
        hint = format!("; did you mean `{near}`?");
    } else if mapped {
        hint =
            format!("; name its column in the mapping (`[{table}.columns]` `{field} = \"...\"`)");
    }
    if absentable.contains(&field) {
        hint.push_str(&format!(
            "; if the export has no {field}, say so: `{field} = false` under [{table}.columns] \
             in a mapping, or {absent_option} {table}.{field}"
        ));
    }
    ExtractError::MissingColumn {
        path: path.to_path_buf(),
        column: field.to_string(),
        found: header.join(", "),
        hint,
    }
}
