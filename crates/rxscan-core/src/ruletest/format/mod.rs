//! Reading one test file (`tests/*.toml`) into its [`TestPatient`]s: every value checked, every
//! problem a [`Diagnostic`] with a code, a span and a hint, all of a file's problems at once.
//!
//! The TOML is read with `toml_edit`'s span-keeping document, walked by hand rather than
//! through serde, so that each mistake gets its own code and a caret under the key or value
//! at fault, and an unknown key a "did you mean". Dates relative to the index date are resolved
//! here, per patient, so the runner only sees calendar days.

mod rows;

use std::ops::Range;

use toml_edit::{Item, TableLike, Value};

use super::when::When;
use super::TestPatient;
use crate::dates::{self, Day};
use crate::diagnostics::{did_you_mean_hint, Code, Diagnostic, DiagnosticsExt, FileId, Span};
use crate::plan::Codelist;

const FILE_KEYS: &[&str] = &["index_date", "defaults", "patient"];
const DEFAULT_KEYS: &[&str] = &["born", "sex", "registered", "practice"];
const PATIENT_KEYS: &[&str] = &[
    "id",
    "case",
    "index_date",
    "born",
    "date_of_birth",
    "sex",
    "died",
    "date_of_death",
    "registered",
    "practice",
    "registrations",
    "medications",
    "clinical_events",
    "expect",
    "expect_practice",
];
const REGISTRATION_KEYS: &[&str] = &["start", "end", "practice"];
const OUTCOMES: &[&str] = &["numerator", "denominator", "excluded"];

/// Parse test file `file` (text `text`) against the pack's measure ids. `None` when it has an
/// error (pushed to `diags`).
pub(super) fn parse(
    file: FileId,
    text: &str,
    measures: &[&str],
    codelists: &[Codelist],
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<TestPatient>> {
    let errors_before = count_errors(diags);
    let doc = match toml_edit::Document::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let message = e.message().trim().to_string();
            diags.error(
                Code::TestFileSyntax,
                Span::new(file, span.start, span.end.max(span.start)),
                format!("not valid TOML: {message}"),
                "here",
            );
            return None;
        }
    };
    let mut r = Reader {
        file,
        diags,
        measures,
        codelists,
    };
    let root = doc.as_table();
    r.known_keys(root, FILE_KEYS, "the file");
    let file_index = root.get("index_date").and_then(|item| r.index_date(item));
    let defaults = match root.get("defaults") {
        Some(item) => match item.as_table_like() {
            Some(t) => {
                r.known_keys(t, DEFAULT_KEYS, "`[defaults]`");
                Some(t)
            }
            None => {
                r.bad_value(item.span(), "`defaults` is a table: `[defaults]`");
                None
            }
        },
        None => None,
    };
    let Some(list) = root.get("patient") else {
        r.diags
            .error(
                Code::TestMissingKey,
                Span::new(file, 0, 0),
                "no patients in this test file",
                "here",
            )
            .hint = Some("add patients as `[[patient]]` tables".into());
        return None;
    };
    let Some(list) = list.as_array_of_tables() else {
        r.bad_value(
            list.span(),
            "`patient` is a list of tables, each starting with `[[patient]]`",
        );
        return None;
    };
    let mut patients: Vec<TestPatient> = Vec::new();
    let mut ids: Vec<(i64, Span)> = Vec::new();
    for table in list.iter() {
        let span = r.span(table.span());
        if let Some(id) = table.get("id").and_then(Item::as_integer) {
            if let Some((_, first)) = ids.iter().find(|(i, _)| *i == id) {
                r.diags.push(
                    Diagnostic::error(
                        Code::TestDuplicatePatient,
                        span,
                        format!("a second patient with id {id}"),
                        "the same id again",
                    )
                    .also_at(*first, "first here")
                    .with_hint("give each patient its own `id`"),
                );
            }
            ids.push((id, span));
        }
        if let Some(p) = r.patient(table, file_index, defaults) {
            patients.push(p);
        }
    }
    (count_errors(r.diags) == errors_before).then_some(patients)
}

fn count_errors(diags: &[Diagnostic]) -> usize {
    diags
        .iter()
        .filter(|d| d.severity == crate::diagnostics::Severity::Error)
        .count()
}

struct Reader<'a> {
    file: FileId,
    diags: &'a mut Vec<Diagnostic>,
    measures: &'a [&'a str],
    /// For codes written by their codelist (`"@nsaid"`).
    codelists: &'a [Codelist],
}

impl Reader<'_> {
    fn span(&self, range: Option<Range<usize>>) -> Span {
        let r = range.unwrap_or(0..0);
        Span::new(self.file, r.start, r.end)
    }

    fn bad_value(&mut self, at: Option<Range<usize>>, message: impl Into<String>) {
        let span = self.span(at);
        self.diags
            .error(Code::TestBadValue, span, message, "this value");
    }

    /// Report every key of `table` not in `allowed`.
    fn known_keys(&mut self, table: &dyn TableLike, allowed: &[&str], what: &str) {
        for (key, _) in table.iter() {
            if allowed.contains(&key) {
                continue;
            }
            let span = self.span(table.key(key).and_then(|k| k.span()));
            let hint = did_you_mean_hint(key, allowed.iter().copied())
                .unwrap_or_else(|| format!("the keys here are: {}", allowed.join(", ")));
            self.diags
                .error(
                    Code::TestUnknownKey,
                    span,
                    format!("unknown key `{key}` in {what}"),
                    "unknown key",
                )
                .hint = Some(hint);
        }
    }

    /// A string, or a whole number written as one (codes, practices).
    fn text(&mut self, item: &Item, what: &str, numbers_ok: bool) -> Option<String> {
        match item.as_value() {
            Some(Value::String(s)) => Some(s.value().clone()),
            Some(Value::Integer(i)) if numbers_ok => Some(i.value().to_string()),
            _ => {
                self.bad_value(item.span(), format!("{what} is text in double quotes"));
                None
            }
        }
    }

    /// A date as written: a string, or a TOML date (`2020-03-01` unquoted).
    fn when(&mut self, value: &Value, month_ok: bool) -> Option<When> {
        let text = match value {
            Value::String(s) => s.value().clone(),
            Value::Datetime(d) if d.value().time.is_none() => d.value().to_string(),
            _ => {
                self.bad_value(
                    value.span(),
                    "a date is written in quotes: \"2020-03-01\" or \"I-3m\"",
                );
                return None;
            }
        };
        match When::parse(&text, month_ok) {
            Ok(w) => Some(w),
            Err(message) => {
                let span = self.span(value.span());
                self.diags
                    .error(Code::TestBadDate, span, message, "not a date");
                None
            }
        }
    }

    /// A date resolved at `index`.
    fn day(&mut self, value: &Value, index: Day, month_ok: bool) -> Option<Day> {
        let when = self.when(value, month_ok)?;
        let day = when.at(index);
        if day.is_none() {
            let span = self.span(value.span());
            self.diags
                .error(
                    Code::TestBadDate,
                    span,
                    format!(
                        "this date is no calendar day at index date {}",
                        dates::format_iso(index)
                    ),
                    "no such day",
                )
                .hint = Some(
                "month arithmetic keeps the day of the month (31 May - 3 months does not exist)"
                    .into(),
            );
        }
        day
    }

    fn item_day(&mut self, item: &Item, index: Day, month_ok: bool) -> Option<Day> {
        match item.as_value() {
            Some(v) => self.day(v, index, month_ok),
            None => {
                self.bad_value(item.span(), "expected a date in quotes");
                None
            }
        }
    }

    /// An index date: a calendar day, the 1st of a month.
    fn index_date(&mut self, item: &Item) -> Option<Day> {
        let value = item.as_value()?;
        let when = self.when(value, false)?;
        let span = self.span(value.span());
        let When::Day(day) = when else {
            self.diags.error(
                Code::TestBadDate,
                span,
                "an index date is a calendar day, not relative to itself",
                "relative",
            );
            return None;
        };
        match crate::scan::IndexDates::parse(&dates::format_iso(day)) {
            Ok(d) => Some(d),
            Err(e) => {
                self.diags
                    .error(Code::TestBadDate, span, e.to_string(), "not the 1st");
                None
            }
        }
    }

    /// A key of the patient, else of `[defaults]`.
    fn get<'t>(
        patient: &'t dyn TableLike,
        defaults: Option<&'t dyn TableLike>,
        keys: &[&str],
    ) -> Option<&'t Item> {
        keys.iter()
            .find_map(|k| patient.get(k))
            .or_else(|| keys.iter().find_map(|k| defaults.and_then(|d| d.get(k))))
    }

    fn patient(
        &mut self,
        t: &toml_edit::Table,
        file_index: Option<Day>,
        defaults: Option<&dyn TableLike>,
    ) -> Option<TestPatient> {
        let span = self.span(t.span());
        self.known_keys(t, PATIENT_KEYS, "a `[[patient]]`");
        let missing = |r: &mut Self, key: &str, hint: &str| {
            r.diags
                .error(
                    Code::TestMissingKey,
                    span,
                    format!("this patient has no `{key}`"),
                    "this patient",
                )
                .hint = Some(hint.to_string());
        };
        let id = match t.get("id") {
            Some(item) => match item.as_integer() {
                Some(i) => Some(i),
                None => {
                    self.bad_value(item.span(), "a patient `id` is a whole number");
                    None
                }
            },
            None => {
                missing(
                    self,
                    "id",
                    "add `id = 1` (a whole number, unique in the file)",
                );
                None
            }
        };
        let case = match t.get("case") {
            Some(item) => self.text(item, "`case`", false).unwrap_or_default(),
            None => String::new(),
        };
        let index = match t.get("index_date") {
            Some(item) => self.index_date(item),
            None if file_index.is_some() => file_index,
            None => {
                missing(
                    self,
                    "index_date",
                    "give the file an `index_date = \"2020-03-01\"` at the top, or the patient its own",
                );
                None
            }
        };
        let index = index?;
        let born = match Self::get(t, defaults, &["born", "date_of_birth"]) {
            Some(item) => self.item_day(item, index, true),
            None => {
                missing(
                    self,
                    "born",
                    "add `born = \"1950-06-01\"` (or `\"I-70y\"`), here or in `[defaults]`",
                );
                None
            }
        };
        let sex = match Self::get(t, defaults, &["sex"]) {
            Some(item) => self.text(item, "`sex`", false),
            None => {
                missing(self, "sex", "add `sex = \"F\"` (or M, and the contract's other spellings), here or in `[defaults]`");
                None
            }
        };
        let died = match Self::get(t, None, &["died", "date_of_death"]) {
            Some(item) => self.item_day(item, index, false).map(Some),
            None => Some(None),
        };
        let registrations = self.registrations(t, defaults, index);
        let medications = match t.get("medications") {
            Some(item) => self.rows(item, index, "medications", 2, 2),
            None => Some(Vec::new()),
        }
        .map(|rows| {
            rows.into_iter()
                .map(|e| (e.date, e.code))
                .collect::<Vec<_>>()
        });
        let clinical_events = match t.get("clinical_events") {
            Some(item) => self.rows(item, index, "clinical_events", 2, 4),
            None => Some(Vec::new()),
        };
        let expect = self.expectations(t);
        let expect_practice = t.get("expect_practice").and_then(|item| {
            let p = self.text(item, "`expect_practice`", true)?;
            Some((p, self.span(item.span())))
        });
        if expect.as_ref().is_some_and(|e| e.is_empty()) && expect_practice.is_none() {
            missing(
                self,
                "expect",
                "say what this patient must give: `expect = { a = \"numerator\" }` (or \"denominator\", \"excluded\")",
            );
        }
        Some(TestPatient {
            id: id?,
            case,
            span,
            index_date: index,
            born: born?,
            sex: sex?,
            died: died?,
            registrations: registrations?,
            medications: medications?,
            clinical_events: clinical_events?,
            expect: expect?,
            expect_practice,
        })
    }
}
