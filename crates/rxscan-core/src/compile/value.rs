//! The values the compiler computes for expressions, and their types.
//!
//! Checking evaluates what it can while it compiles: a duration, a window, a date relative to
//! `index`, a codelist or a table is known before any data is read, is checked there, and never
//! reaches the plan. Only per-patient values ([`Val::Runtime`]) and index-relative dates become
//! formulas. The value types sit below every phase so that declare (parameter defaults and
//! `--param` overrides), check and lower share them without depending on each other.

use crate::plan::{self, Offset, Table, Window};
use crate::syntax::{DurationUnit, ExprKind};

/// A value during resolution. Only `Runtime` values (and index-relative dates) reach the plan.
#[derive(Debug, Clone)]
pub(super) enum Val {
    /// A per-patient value computed by the evaluator.
    Runtime(plan::Expr, Ty),
    /// `index ± durations`.
    RelDate(Offset),
    Duration(Duration),
    Window(Window),
    Codelist(usize),
    /// A `latest(...)` feature.
    Record(usize, Table),
    Table(Table),
    /// Already reported; suppresses follow-on errors.
    Poison,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Duration {
    pub(super) months: i64,
    pub(super) days: i64,
}

impl Duration {
    /// `n` of `unit`: weeks are 7 days, years 12 months.
    pub(super) fn of(n: i64, unit: DurationUnit) -> Duration {
        match unit {
            DurationUnit::Days => Duration { months: 0, days: n },
            DurationUnit::Weeks => Duration {
                months: 0,
                days: n * 7,
            },
            DurationUnit::Months => Duration { months: n, days: 0 },
            DurationUnit::Years => Duration {
                months: n * 12,
                days: 0,
            },
        }
    }

    /// A duration given as text (`--param gap="4 weeks"`): a whole number and a unit.
    pub(super) fn parse(text: &str) -> Option<Duration> {
        let mut parts = text.split_whitespace();
        let n: i64 = parts.next()?.parse().ok()?;
        let unit = parts.next()?;
        if parts.next().is_some() || n.unsigned_abs() > 1_000_000 {
            return None;
        }
        Some(Duration::of(n, DurationUnit::from_word(unit)?))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ty {
    Bool,
    Num,
    Str,
    Date,
}

impl Ty {
    pub(super) fn name(self) -> &'static str {
        match self {
            Ty::Bool => "a boolean",
            Ty::Num => "a number",
            Ty::Str => "a string",
            Ty::Date => "a date",
        }
    }
}

impl Val {
    /// The value of a literal (`45`, `"M"`, `true`, `27 days`); `None` for anything else.
    pub(super) fn literal(e: &ExprKind) -> Option<Val> {
        Some(match e {
            ExprKind::Number(n) => Val::Runtime(plan::Expr::Num(*n), Ty::Num),
            ExprKind::Str(s) => Val::Runtime(plan::Expr::Str(s.clone()), Ty::Str),
            ExprKind::Bool(b) => Val::Runtime(plan::Expr::Bool(*b), Ty::Bool),
            ExprKind::Duration(n, unit) => Val::Duration(Duration::of(*n, *unit)),
            _ => return None,
        })
    }

    pub(super) fn describe(&self) -> &'static str {
        match self {
            Val::Runtime(_, t) => t.name(),
            Val::RelDate(_) => "a date",
            Val::Duration(_) => "a duration",
            Val::Window(_) => "a window",
            Val::Codelist(_) => "a codelist",
            Val::Record(..) => "a record",
            Val::Table(_) => "a table",
            Val::Poison => "an invalid value",
        }
    }

    /// As a per-patient value, if it is one.
    pub(super) fn runtime(&self) -> Option<(plan::Expr, Ty)> {
        match self {
            Val::Runtime(e, t) => Some((e.clone(), *t)),
            Val::RelDate(o) => Some((plan::Expr::IndexDate(*o), Ty::Date)),
            _ => None,
        }
    }

    /// A parameter's value as the plan lists it.
    pub(super) fn describe_param(&self) -> String {
        match self {
            Val::Runtime(plan::Expr::Num(n), _) => n.to_string(),
            Val::Runtime(plan::Expr::Bool(b), _) => b.to_string(),
            Val::Runtime(plan::Expr::Str(s), _) => format!("{s:?}"),
            Val::Duration(d) if d.months == 0 => format!("{} days", d.days),
            Val::Duration(d) if d.days == 0 => format!("{} months", d.months),
            Val::Duration(d) => format!("{} months {} days", d.months, d.days),
            _ => "?".into(),
        }
    }
}
