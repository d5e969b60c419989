//! The lists of a patient: its registrations, its event rows and its expectations.

use std::ops::Range;

use toml_edit::{Item, TableLike, Value};

use super::{Reader, OUTCOMES, REGISTRATION_KEYS};
use crate::dates::Day;
use crate::diagnostics::{did_you_mean_hint, Code, DiagnosticsExt};
use crate::plan::Codelist;
use crate::ruletest::{Event, Expectation, Outcome, Registration};

impl Reader<'_> {
    /// `registered = DATE` (with `practice`, default 1) or `registrations = [{ start, end,
    /// practice }, ...]`; from `[defaults]` when the patient gives neither.
    pub(super) fn registrations(
        &mut self,
        t: &dyn TableLike,
        defaults: Option<&dyn TableLike>,
        index: Day,
    ) -> Option<Vec<Registration>> {
        if let (Some(a), Some(_)) = (t.get("registered"), t.get("registrations")) {
            self.bad_value(
                a.span(),
                "give either `registered` (one ongoing registration) or `registrations`, not both",
            );
            return None;
        }
        if let Some(item) = t.get("registrations") {
            let Some(list) = item.as_array() else {
                self.bad_value(item.span(), "`registrations` is a list: [{ start = \"2000-01-01\", end = \"I\", practice = 1 }] ([] for none)");
                return None;
            };
            let mut out = Some(Vec::new());
            for v in list.iter() {
                let r = self.registration(v, index);
                out = out.zip(r).map(|(mut o, r)| {
                    o.push(r);
                    o
                });
            }
            return out;
        }
        let Some(start) = Self::get(t, defaults, &["registered"]) else {
            return Some(Vec::new()); // never registered: in no population
        };
        let start = self.item_day(start, index, false);
        let practice = match Self::get(t, defaults, &["practice"]) {
            Some(item) => self.text(item, "`practice`", true),
            None => Some("1".to_string()),
        };
        Some(vec![Registration {
            start: start?,
            end: None,
            practice: practice?,
        }])
    }

    fn registration(&mut self, v: &Value, index: Day) -> Option<Registration> {
        let Some(t) = v.as_inline_table() else {
            self.bad_value(
                v.span(),
                "a registration is { start = \"2000-01-01\", end = \"I\", practice = 1 } (end optional: ongoing)",
            );
            return None;
        };
        self.known_keys(t, REGISTRATION_KEYS, "a registration");
        let start = match t.get("start") {
            Some(v) => self.day(v, index, false),
            None => {
                self.bad_value(v.span(), "a registration needs its `start`");
                None
            }
        };
        let end = match t.get("end") {
            Some(v) => self.day(v, index, false).map(Some),
            None => Some(None),
        };
        let practice = match t.get("practice") {
            Some(Value::String(s)) => Some(s.value().clone()),
            Some(Value::Integer(i)) => Some(i.value().to_string()),
            None => Some("1".to_string()),
            Some(other) => {
                self.bad_value(other.span(), "a practice is a number or text");
                None
            }
        };
        Some(Registration {
            start: start?,
            end: end?,
            practice: practice?,
        })
    }

    /// A list of event rows, each `[date, code]` with up to `max - 2` more fields
    /// (`numeric_value`, then `comparator`).
    pub(super) fn rows(
        &mut self,
        item: &Item,
        index: Day,
        table: &str,
        min: usize,
        max: usize,
    ) -> Option<Vec<Event>> {
        let shape = if max == 2 {
            "[date, dm+d code]".to_string()
        } else {
            "[date, SNOMED CT code] or [date, code, value] or [date, code, value, comparator]"
                .to_string()
        };
        let Some(list) = item.as_array() else {
            self.bad_value(
                item.span(),
                format!("`{table}` is a list of rows, each {shape}"),
            );
            return None;
        };
        let mut out = Some(Vec::new());
        for row in list.iter() {
            let fields = row.as_array().filter(|a| (min..=max).contains(&a.len()));
            let Some(fields) = fields else {
                self.bad_value(row.span(), format!("a row of `{table}` is {shape}"));
                out = None;
                continue;
            };
            let f: Vec<&Value> = fields.iter().collect();
            let date = self.day(f[0], index, false);
            let code = match f[1] {
                Value::String(s) => match s.value().strip_prefix('@') {
                    Some(name) => self.alias(name, table, s.span()),
                    None => Some(s.value().clone()),
                },
                Value::Integer(i) => Some(i.value().to_string()),
                other => {
                    self.bad_value(other.span(), "a code is text or a whole number");
                    None
                }
            };
            let value = match f.get(2) {
                None => Some(String::new()),
                Some(Value::String(s)) => Some(s.value().clone()),
                Some(Value::Integer(i)) => Some(i.value().to_string()),
                Some(Value::Float(x)) => Some(x.value().to_string()),
                Some(other) => {
                    self.bad_value(other.span(), "a value is a number (or \"\" for none)");
                    None
                }
            };
            let comparator = match f.get(3) {
                None => Some(String::new()),
                Some(Value::String(s)) => Some(s.value().clone()),
                Some(other) => {
                    self.bad_value(other.span(), "a comparator is text such as \"<\"");
                    None
                }
            };
            let event = date.zip(code).zip(value).zip(comparator).map(
                |(((date, code), value), comparator)| Event {
                    date,
                    code,
                    value,
                    comparator,
                },
            );
            out = out.zip(event).map(|(mut o, e)| {
                o.push(e);
                o
            });
        }
        out
    }

    /// The code `@NAME` stands for: the smallest code of codelist `NAME` (over `table`) that
    /// is in no other codelist over that table, so the row means "a code of this list" and
    /// nothing more (a code also in another list, such as an NSAID+PPI product, would also
    /// satisfy that list's conditions).
    fn alias(&mut self, name: &str, table: &str, at: Option<Range<usize>>) -> Option<String> {
        let over: Vec<&Codelist> = self
            .codelists
            .iter()
            .filter(|c| c.table.name() == table)
            .collect();
        let Some(list) = over.iter().find(|c| c.name == name) else {
            let names = over.iter().map(|c| c.name.as_str());
            let hint = did_you_mean_hint(name, names.clone()).unwrap_or_else(|| {
                format!(
                    "the {table} codelists are: {}",
                    names.collect::<Vec<_>>().join(", ")
                )
            });
            let span = self.span(at);
            self.diags
                .error(
                    Code::TestBadValue,
                    span,
                    format!("no codelist `{name}` over {table} in this pack"),
                    "unknown codelist",
                )
                .hint = Some(hint);
            return None;
        };
        let only_here = list.codes.iter().find(|code| {
            over.iter()
                .all(|c| c.name == list.name || c.codes.binary_search(code).is_err())
        });
        if only_here.is_none() {
            let span = self.span(at);
            self.diags
                .error(
                    Code::TestBadValue,
                    span,
                    format!("every code of `{name}` is also in another codelist"),
                    "ambiguous",
                )
                .hint = Some("write the code itself".into());
        }
        only_here.cloned()
    }

    /// `expect = { MEASURE = "numerator" | "denominator" | "excluded", ... }`.
    pub(super) fn expectations(&mut self, t: &dyn TableLike) -> Option<Vec<Expectation>> {
        let Some(item) = t.get("expect") else {
            return Some(Vec::new());
        };
        let Some(table) = item.as_table_like() else {
            self.bad_value(
                item.span(),
                "`expect` is a table: expect = { a = \"numerator\" }",
            );
            return None;
        };
        let mut out = Some(Vec::new());
        for (measure, v) in table.iter() {
            let key_span = self.span(table.key(measure).and_then(|k| k.span()));
            if !self.measures.contains(&measure) {
                let hint = did_you_mean_hint(measure, self.measures.iter().copied())
                    .unwrap_or_else(|| format!("the measures are: {}", self.measures.join(", ")));
                self.diags
                    .error(
                        Code::TestUnknownMeasure,
                        key_span,
                        format!("no measure `{measure}` in this pack"),
                        "unknown measure",
                    )
                    .hint = Some(hint);
                out = None;
                continue;
            }
            let outcome = match v.as_str() {
                Some("numerator") => Some(Outcome::Numerator),
                Some("denominator") => Some(Outcome::Denominator),
                Some("excluded") => Some(Outcome::Excluded),
                _ => None,
            };
            let Some(outcome) = outcome else {
                let span = self.span(v.span());
                let hint = v
                    .as_str()
                    .and_then(|s| did_you_mean_hint(s, OUTCOMES.iter().copied()))
                    .unwrap_or_else(|| {
                        "\"numerator\", \"denominator\" (not the numerator) or \"excluded\" (not the denominator)".into()
                    });
                self.diags
                    .error(
                        Code::TestBadOutcome,
                        span,
                        "an expected outcome is \"numerator\", \"denominator\" or \"excluded\"",
                        "not an outcome",
                    )
                    .hint = Some(hint);
                out = None;
                continue;
            };
            out = out.map(|mut o| {
                o.push(Expectation {
                    measure: measure.to_string(),
                    outcome,
                    span: key_span,
                });
                o
            });
        }
        out
    }
}
