//! Column mappings: how a practice's own export maps onto the contract's four tables
//! (`rxscan scan --mapping FILE.toml`; the format is in the README's "Real exports").
//!
//! A mapping names, per table, the file to read, the column that holds each contract field (or
//! `false`: the export has none), the table's `date_format` (chrono strftime; a default for
//! every table at the top) and, for `sex`, the spellings of each value. It is parsed here with
//! toml_edit, which keeps the span of every key and value, so that a mistake is reported like
//! a rule diagnostic: the mapping's file, line and a caret under the key or value, with a
//! "did you mean". Mistakes that need the export to see (a column not in the header actually
//! found, a file that is not there) are found when the table is opened (`columns.rs`), against
//! the same spans.
//!
//! What is mapped is applied by renaming: a table's header is read and each mapped column is
//! given its contract name, so every reader below (the fast paths included) sees the contract's
//! names and nothing else changes. Messages about values still name the file's own column.

use std::path::{Path, PathBuf};

use toml_edit::{Item, TableLike, Value};

use super::date_format::DateFormat;
use super::model::Sex;
use crate::diagnostics::{did_you_mean_hint, Code, Diagnostic, SourceMap, Span};

/// Each table's fields, and which of them an export may declare absent (`false`).
pub(crate) const CONTRACT: [(&str, &[&str], &[&str]); 4] = [
    (
        "patients",
        &["patient_id", "date_of_birth", "sex", "date_of_death"],
        &["date_of_death"],
    ),
    (
        "practice_registrations",
        &["patient_id", "start_date", "end_date", "practice_pseudo_id"],
        &[],
    ),
    ("medications", &["patient_id", "date", "dmd_code"], &[]),
    (
        "clinical_events",
        &[
            "patient_id",
            "date",
            "snomedct_code",
            "numeric_value",
            "comparator",
        ],
        &["comparator"],
    ),
];

/// A mapping file, parsed and checked on its own (not yet against an export).
#[derive(Debug, Clone)]
pub struct Mapping {
    pub(crate) sources: SourceMap,
    pub(crate) tables: Vec<TableMap>,
}

/// What a mapping says about one table.
#[derive(Debug, Clone)]
pub(crate) struct TableMap {
    pub(crate) table: &'static str,
    /// The file (relative to the extract folder; a glob: its files in path order, as one
    /// table) and the span of its value.
    pub(crate) file: Option<(String, Span)>,
    pub(crate) date_format: DateFormat,
    pub(crate) columns: Vec<FieldMap>,
    /// `values.sex`: each spelling and the sex it means (trimmed, compared ignoring case).
    pub(crate) sex_values: Option<Vec<(String, Sex)>>,
}

/// One `field = "Column"` (or `field = false`).
#[derive(Debug, Clone)]
pub(crate) struct FieldMap {
    pub(crate) field: &'static str,
    /// `None`: declared absent.
    pub(crate) column: Option<String>,
    /// The value's span (the caret of a "not in the header" diagnostic).
    pub(crate) span: Span,
}

/// A mapping with mistakes: every diagnostic, rendered against the mapping file.
#[derive(Debug, Clone)]
pub struct MappingError {
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
}

impl MappingError {
    /// The diagnostics as text (as for rules: `file:line:col: error[RX..]`, a caret, a hint).
    pub fn render(&self, color: bool) -> String {
        self.sources.render(&self.diagnostics, color)
    }
}

impl std::fmt::Display for MappingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.render(false).trim_end())
    }
}

impl From<MappingError> for super::ExtractError {
    fn from(e: MappingError) -> Self {
        super::ExtractError::Mapping(Box::new(e))
    }
}

impl From<MappingError> for crate::Error {
    fn from(e: MappingError) -> Self {
        crate::Error::Data(e.into())
    }
}

impl Mapping {
    /// Read and check a mapping file.
    pub fn read(path: &Path) -> Result<Mapping, MappingError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Mapping::parse(path.to_path_buf(), text),
            Err(e) => {
                let mut sources = SourceMap::default();
                let file = sources.add(path.to_path_buf(), String::new());
                let d = Diagnostic::error(
                    Code::MappingInvalid,
                    Span::new(file, 0, 0),
                    format!("cannot read the mapping: {e}"),
                    "here",
                );
                Err(MappingError {
                    sources,
                    diagnostics: vec![d],
                })
            }
        }
    }

    /// Parse and check a mapping's text.
    pub fn parse(path: PathBuf, text: String) -> Result<Mapping, MappingError> {
        let mut sources = SourceMap::default();
        let file = sources.add(path, text);
        let mut p = Parser {
            file,
            diags: Vec::new(),
        };
        let tables = p.document(sources.text(file));
        if p.diags.is_empty() {
            Ok(Mapping { sources, tables })
        } else {
            Err(MappingError {
                sources,
                diagnostics: p.diags,
            })
        }
    }

    /// The mapping file's path.
    pub fn path(&self) -> &Path {
        self.sources.path(0)
    }

    /// Whether `dir` holds a file this mapping names for one of its tables (so `dir` is an
    /// export in the mapping's layout, even with every file in a subfolder).
    pub fn names_files_in(&self, dir: &Path) -> bool {
        self.tables
            .iter()
            .filter_map(|t| t.file.as_ref())
            .any(|(file, _)| !matching_files(dir, file).is_empty())
    }

    pub(crate) fn table(&self, name: &str) -> Option<&TableMap> {
        self.tables.iter().find(|t| t.table == name)
    }

    /// An error about this mapping at `span`.
    pub(crate) fn error(&self, diagnostics: Vec<Diagnostic>) -> MappingError {
        MappingError {
            sources: self.sources.clone(),
            diagnostics,
        }
    }
}

struct Parser {
    file: u32,
    diags: Vec<Diagnostic>,
}

fn key_names(t: &dyn TableLike) -> Vec<String> {
    t.iter().map(|(k, _)| k.to_string()).collect()
}

impl Parser {
    fn span(&self, r: Option<std::ops::Range<usize>>) -> Span {
        let r = r.unwrap_or(0..0);
        Span::new(self.file, r.start, r.end)
    }

    fn key_span(&self, t: &dyn TableLike, key: &str) -> Span {
        self.span(t.get_key_value(key).and_then(|(k, _)| k.span()))
    }

    fn value_span(&self, item: &Item) -> Span {
        self.span(item.span())
    }

    fn error(&mut self, code: Code, span: Span, message: String, label: &str) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::error(code, span, message, label));
        self.diags.last_mut().expect("just pushed")
    }

    /// A key not known in `place` (e.g. "[patients]", "patients.columns").
    fn unknown_key(&mut self, t: &dyn TableLike, key: &str, place: &str, known: &[&str]) {
        let span = self.key_span(t, key);
        let hint = did_you_mean_hint(key, known.iter().copied())
            .unwrap_or_else(|| format!("the keys of {place} are: {}", known.join(", ")));
        self.error(
            Code::MappingUnknownField,
            span,
            format!("unknown key `{key}` in {place}"),
            "not known here",
        )
        .hint = Some(hint);
    }

    fn string(&mut self, item: &Item, what: &str) -> Option<String> {
        match item.as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                let span = self.value_span(item);
                self.error(
                    Code::MappingInvalid,
                    span,
                    format!("{what} must be a string"),
                    "not a string",
                );
                None
            }
        }
    }

    fn date_format(&mut self, item: &Item) -> Option<DateFormat> {
        let text = self.string(item, "`date_format`")?;
        match DateFormat::new(&text) {
            Ok(f) => Some(f),
            Err(why) => {
                let span = self.value_span(item);
                self.error(Code::MappingBadDateFormat, span, why, "this format")
                    .hint = Some("chrono strftime syntax, e.g. \"%d/%m/%Y\" for 14/08/2021 or \"%d-%b-%Y\" for 14-Aug-2021".into());
                None
            }
        }
    }

    fn document(&mut self, text: &str) -> Vec<TableMap> {
        let doc = match toml_edit::Document::parse(text) {
            Ok(d) => d,
            Err(e) => {
                // A point (an empty span, e.g. at the end of a line) is widened to the text
                // before it on its line, so the carets have something to stand under.
                let span = match e.span() {
                    Some(r) if r.is_empty() => {
                        let line = text[..r.start].rfind('\n').map_or(0, |i| i + 1);
                        let first = text[line..r.start]
                            .find(|c: char| !c.is_whitespace())
                            .map_or(r.start.saturating_sub(1), |i| line + i);
                        self.span(Some(first..r.start))
                    }
                    r => self.span(r),
                };
                let message = format!("the mapping is not valid TOML: {}", e.message().trim());
                self.error(Code::MappingInvalid, span, message, "here");
                return Vec::new();
            }
        };
        let root = doc.as_table();
        let mut default_format = DateFormat::Iso;
        if let Some(item) = root.get("date_format") {
            if let Some(f) = self.date_format(item) {
                default_format = f;
            }
        }
        let names: Vec<&str> = CONTRACT.iter().map(|c| c.0).collect();
        let mut tables = Vec::new();
        for key in key_names(root) {
            if key == "date_format" {
                continue;
            }
            let Some(&(table, fields, absentable)) = CONTRACT.iter().find(|c| c.0 == key) else {
                let span = self.key_span(root, &key);
                let hint = did_you_mean_hint(&key, names.iter().copied())
                    .unwrap_or_else(|| format!("the tables are {}", names.join(", ")));
                self.error(
                    Code::MappingUnknownTable,
                    span,
                    format!("unknown table `{key}`"),
                    "not one of the four tables",
                )
                .hint = Some(hint);
                continue;
            };
            let item = &root[key.as_str()];
            let Some(t) = item.as_table_like() else {
                let span = self.value_span(item);
                self.error(
                    Code::MappingInvalid,
                    span,
                    format!("`{table}` must be a table (`[{table}]`)"),
                    "not a table",
                );
                continue;
            };
            tables.push(self.table(t, table, fields, absentable, &default_format));
        }
        tables
    }

    fn table(
        &mut self,
        t: &dyn TableLike,
        table: &'static str,
        fields: &[&'static str],
        absentable: &[&str],
        default_format: &DateFormat,
    ) -> TableMap {
        let mut out = TableMap {
            table,
            file: None,
            date_format: default_format.clone(),
            columns: Vec::new(),
            sex_values: None,
        };
        for key in key_names(t) {
            let item = t.get(&key).expect("listed");
            match key.as_str() {
                "file" => {
                    let span = self.value_span(item);
                    out.file = self.string(item, "`file`").map(|f| (f, span));
                }
                "date_format" => {
                    if let Some(f) = self.date_format(item) {
                        out.date_format = f;
                    }
                }
                "columns" => match item.as_table_like() {
                    Some(cols) => self.columns(cols, table, fields, absentable, &mut out),
                    None => {
                        let span = self.value_span(item);
                        self.error(
                            Code::MappingInvalid,
                            span,
                            format!("`{table}.columns` must be a table"),
                            "not a table",
                        );
                    }
                },
                "values" => match item.as_table_like() {
                    Some(values) => self.values(values, table, fields, &mut out),
                    None => {
                        let span = self.value_span(item);
                        self.error(
                            Code::MappingInvalid,
                            span,
                            format!("`{table}.values` must be a table"),
                            "not a table",
                        );
                    }
                },
                _ => self.unknown_key(
                    t,
                    &key,
                    &format!("[{table}]"),
                    &["file", "date_format", "columns", "values"],
                ),
            }
        }
        out
    }

    fn columns(
        &mut self,
        cols: &dyn TableLike,
        table: &str,
        fields: &[&'static str],
        absentable: &[&str],
        out: &mut TableMap,
    ) {
        for key in key_names(cols) {
            let item = cols.get(&key).expect("listed");
            let Some(&field) = fields.iter().find(|f| **f == key) else {
                self.unknown_key(cols, &key, &format!("[{table}.columns]"), fields);
                continue;
            };
            let span = self.value_span(item);
            let column = match item.as_value() {
                Some(Value::String(s)) => Some(s.value().to_string()),
                Some(Value::Boolean(b)) if !*b.value() => {
                    if !absentable.contains(&field) {
                        let known = if absentable.is_empty() {
                            format!("every field of {table} is required")
                        } else {
                            format!("only {} may be declared absent", absentable.join(", "))
                        };
                        self.error(
                            Code::MappingRequiredField,
                            span,
                            format!("`{table}.{field}` cannot be absent: rxscan needs it"),
                            "declared absent",
                        )
                        .hint = Some(format!("map it to the export's column; {known}"));
                        continue;
                    }
                    None
                }
                _ => {
                    let whole = self.key_span(cols, &key).to(span);
                    self.error(
                        Code::MappingInvalid,
                        whole,
                        format!("`{field}` must be a column name (a string), or false"),
                        "neither a string nor false",
                    );
                    continue;
                }
            };
            out.columns.push(FieldMap {
                field,
                column,
                span,
            });
        }
    }

    fn values(
        &mut self,
        values: &dyn TableLike,
        table: &str,
        fields: &[&'static str],
        out: &mut TableMap,
    ) {
        for key in key_names(values) {
            let item = values.get(&key).expect("listed");
            if (table, key.as_str()) != ("patients", "sex") {
                let span = self.key_span(values, &key);
                let what = if fields.contains(&key.as_str()) {
                    format!("`{table}.{key}` has no value mapping")
                } else {
                    format!("`{key}` is not a field of {table}")
                };
                self.error(
                    Code::MappingValuesWithoutField,
                    span,
                    format!("{what}: only `patients.sex` takes `values`"),
                    "no values to map here",
                )
                .hint =
                    Some("remove this table; rxscan reads this field as the contract says".into());
                continue;
            }
            let Some(letters) = item.as_table_like() else {
                let span = self.value_span(item);
                self.error(
                    Code::MappingInvalid,
                    span,
                    "`values.sex` must be a table of M, F, I, U to lists of spellings".into(),
                    "not a table",
                );
                continue;
            };
            let mut spellings = Vec::new();
            for letter in key_names(letters) {
                let item = letters.get(&letter).expect("listed");
                let Some(sex) = Sex::parse(&letter).filter(|_| letter.len() == 1) else {
                    let span = self.key_span(letters, &letter);
                    self.error(
                        Code::MappingInvalid,
                        span,
                        format!("`{letter}` is not a sex rxscan knows"),
                        "not M, F, I or U",
                    )
                    .hint = Some("the keys of `values.sex` are M, F, I and U".into());
                    continue;
                };
                let list: Option<Vec<String>> = item.as_array().and_then(|a| {
                    a.iter()
                        .map(|v| v.as_str().map(|s| s.trim().to_string()))
                        .collect()
                });
                match list {
                    Some(list) => spellings.extend(list.into_iter().map(|s| (s, sex))),
                    None => {
                        let span = self.value_span(item);
                        self.error(
                            Code::MappingInvalid,
                            span,
                            format!(
                                "`{letter}` must be a list of spellings, e.g. [\"Male\", \"M\"]"
                            ),
                            "not a list of strings",
                        );
                    }
                }
            }
            out.sex_values = Some(spellings);
        }
    }
}

/// The files of `dir` that a mapping's `file` names (relative to `dir`; a glob: its files in
/// path order).
pub(super) fn matching_files(dir: &Path, file: &str) -> Vec<PathBuf> {
    let pattern = dir.join(file);
    let mut found: Vec<PathBuf> = if file.contains(['*', '?', '[']) {
        glob::glob(&pattern.to_string_lossy())
            .map(|paths| {
                paths
                    .filter_map(Result::ok)
                    .filter(|p| p.is_file())
                    .collect()
            })
            .unwrap_or_default()
    } else {
        [pattern].into_iter().filter(|p| p.is_file()).collect()
    };
    found.sort();
    found
}
