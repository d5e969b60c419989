//! The Plan: the compiled form of a rule pack, and the contract between the compiler and every
//! backend.
//!
//! It is deliberately backend-neutral: names are resolved, definitions are inlined, codelists
//! carry their codes, and every record query is a numbered [`Feature`] with a [`Window`] given as
//! month/day offsets from the index date. Nothing here refers to the columnar layout, rayon or
//! Rust-only types, so a SQL backend can lower the same Plan (features become aggregations over
//! a codelist join, formulas become `CASE` expressions).

use serde::Serialize;

/// Which event table a codelist is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Table {
    /// `medications`, matched on `dmd_code` (dm+d codelists).
    Medications,
    /// `clinical_events`, matched on `snomedct_code` (SNOMED CT codelists).
    ClinicalEvents,
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Medications => "medications",
            Table::ClinicalEvents => "clinical_events",
        }
    }
}

/// A date relative to the index date: `index + months + days` (months first, cohort-extractor
/// month arithmetic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Offset {
    pub months: i32,
    pub days: i32,
}

impl Offset {
    /// The day `index + months + days`; `None` when the month arithmetic lands on a day that
    /// does not exist (31 May − 3 months) or leaves the supported years.
    pub fn at(self, index: crate::dates::Day) -> Option<crate::dates::Day> {
        crate::dates::add_months(index, self.months).map(|d| d + self.days)
    }
}

/// Inclusive at both ends; `None` is open (the whole record history, or no upper bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Window {
    pub start: Option<Offset>,
    pub end: Option<Offset>,
}

impl Window {
    /// The inclusive day range at `index` (open ends as `Day::MIN` / `Day::MAX`); `None` when an
    /// end is not a calendar day.
    pub fn bounds_at(
        self,
        index: crate::dates::Day,
    ) -> Option<(crate::dates::Day, crate::dates::Day)> {
        let lo = match self.start {
            Some(o) => o.at(index)?,
            None => crate::dates::Day::MIN,
        };
        let hi = match self.end {
            Some(o) => o.at(index)?,
            None => crate::dates::Day::MAX,
        };
        Some((lo, hi))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Codelist {
    pub name: String,
    pub table: Table,
    /// Path of the CSV it was read from (as written in the rule, resolved against the rule file).
    pub path: String,
    pub column: String,
    /// Distinct codes, trimmed, sorted.
    pub codes: Vec<String>,
    /// The `term` of each code (same order as `codes`; empty when the CSV has no `term`
    /// column), for evidence a person reads.
    pub terms: Vec<String>,
}

impl Codelist {
    /// The term of a code in the list, if the list has one for it.
    pub fn term(&self, code: &str) -> Option<&str> {
        let i = self.codes.binary_search_by(|c| c.as_str().cmp(code)).ok()?;
        self.terms
            .get(i)
            .map(String::as_str)
            .filter(|t| !t.is_empty())
    }
}

/// A per-patient fact about the event tables at one index date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Feature {
    /// At least one record with a code in `codelist` dated in `window`. Boolean.
    Has { codelist: usize, window: Window },
    /// The record with the greatest date in `window`; on that date the smallest value (a
    /// missing one last), then the smallest comparator as text (docs/DATA-CONTRACT.md).
    Latest { codelist: usize, window: Window },
    /// A record from `a` and one from `b`, both in `window`, dated at most `max_gap_days` apart.
    Within {
        a: usize,
        b: usize,
        max_gap_days: i32,
        window: Window,
    },
}

impl Feature {
    /// The days on which a row can change what this feature finds at an index date from the
    /// first to the last of `range` (`None`: any date): the union of its windows. A window
    /// whose ends are not calendar days at some date keeps everything (the evaluator reports
    /// that date as an error). Windows move with the index date and month arithmetic is
    /// monotone, so the windows at the first and last date cover every date between. The
    /// loader keeps a feature's rows from the start of this span, and evidence's last row
    /// before a window is looked for among those and, before it, among the rows set apart
    /// ([`KeepCode::latest_before`](crate::extract::KeepCode::latest_before)).
    pub fn span(
        &self,
        range: Option<(crate::dates::Day, crate::dates::Day)>,
    ) -> (crate::dates::Day, crate::dates::Day) {
        use crate::dates::Day;
        let Some((first, last)) = range else {
            return (Day::MIN, Day::MAX);
        };
        let w = self.window();
        match (w.bounds_at(first), w.bounds_at(last)) {
            (Some(a), Some(b)) => (a.0.min(b.0), a.1.max(b.1)),
            _ => (Day::MIN, Day::MAX),
        }
    }

    pub fn window(&self) -> Window {
        match *self {
            Feature::Has { window, .. }
            | Feature::Latest { window, .. }
            | Feature::Within { window, .. } => window,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// The part of a `Latest` record an expression reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RecordField {
    Date,
    Value,
    Comparator,
}

/// A typed formula. Missing values (no record, an empty `numeric_value`) propagate: a
/// comparison or `in` with a missing side is false, `exists` tests for them and `coalesce`
/// replaces them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Expr {
    Bool(bool),
    Num(f64),
    Str(String),
    /// Completed years at the index date.
    Age,
    /// `"M"`, `"F"`, `"I"` or `"U"`.
    Sex,
    /// A registration with `start ≤ I < end` (end exclusive, empty end = ongoing).
    Registered,
    /// A date of death on or before the index date.
    Dead,
    /// The date `index + offset`.
    IndexDate(Offset),
    /// A boolean feature (`Has` or `Within`).
    Flag(usize),
    /// A field of a `Latest` feature's record.
    Record(usize, RecordField),
    /// Whether a `Latest` feature found a record.
    RecordExists(usize),
    /// Whether the value is present.
    Exists(Box<Expr>),
    Coalesce(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    In(Box<Expr>, Vec<Expr>),
}

#[derive(Debug, Clone, Serialize)]
pub struct Measure {
    pub id: String,
    pub primis: String,
    pub title: String,
    pub doc: String,
    /// Source file of the measure, for `rxscan rules`.
    pub file: String,
    pub denominator: Expr,
    /// Already conjoined with the denominator: a numerator patient is always a denominator
    /// patient.
    pub numerator: Expr,
}

#[derive(Debug, Clone, Serialize)]
pub struct Composite {
    pub id: String,
    /// Indexes into [`Plan::measures`], flattened and deduplicated.
    pub members: Vec<usize>,
}

/// What a `define` of the pack stands for, kept so that evidence and `rxscan explain` can show
/// a formula as it was written (definition names in place of what they inline). Evaluation
/// never reads these.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Defined {
    /// A per-patient value (a condition, a number, ...).
    Formula(Expr),
    /// A `latest(...)` record: the feature it is.
    Record(usize),
    /// A window.
    Window(Window),
}

#[derive(Debug, Clone, Serialize)]
pub struct Definition {
    pub name: String,
    pub value: Defined,
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub codelists: Vec<Codelist>,
    pub features: Vec<Feature>,
    /// Who is counted at all; practices with at least one such patient get summary rows.
    pub population: Expr,
    pub measures: Vec<Measure>,
    pub composites: Vec<Composite>,
    /// Parameter values in force (after overrides), for the record.
    pub params: Vec<(String, String)>,
    /// The pack's definitions that compiled, by name (sorted), for display only.
    pub definitions: Vec<Definition>,
}

impl Plan {
    pub fn measure(&self, id: &str) -> Option<&Measure> {
        self.measures.iter().find(|m| m.id == id)
    }

    /// The ids of the measures whose formulas (or the population's) read `field` of a record:
    /// e.g. those a missing `comparator` column changes.
    /// A conjunction with a literal `false` in it (a switch parameter left off, such as
    /// `ac_literal_precedence`) reads nothing.
    pub fn measures_reading(&self, field: RecordField) -> Vec<&str> {
        let reads = |e: &Expr| {
            e.any(&|x| match x {
                Expr::Record(_, f) => *f == field,
                _ => false,
            })
        };
        let all = reads(&self.population);
        self.measures
            .iter()
            .filter(|m| all || reads(&m.denominator) || reads(&m.numerator))
            .map(|m| m.id.as_str())
            .collect()
    }
}

impl Expr {
    /// Whether `f` holds for this expression or any inside it that can decide its value (the
    /// terms of a conjunction with a literal `false` cannot).
    pub fn any(&self, f: &dyn Fn(&Expr) -> bool) -> bool {
        if f(self) {
            return true;
        }
        match self {
            Expr::And(v) if v.contains(&Expr::Bool(false)) => false,
            Expr::Exists(a) | Expr::Not(a) => a.any(f),
            Expr::Coalesce(a, b) | Expr::Cmp(_, a, b) => a.any(f) || b.any(f),
            Expr::And(v) | Expr::Or(v) => v.iter().any(|e| e.any(f)),
            Expr::In(a, v) => a.any(f) || v.iter().any(|e| e.any(f)),
            _ => false,
        }
    }
}
