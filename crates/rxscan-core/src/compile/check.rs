//! Check: the one recursive walk over an expression. It resolves each name, checks each type
//! and builds the formula, in a single pass.
//!
//! Resolution is demand-driven: a `define` is resolved when first used (and memoised), which
//! makes cycle detection a matter of keeping the current chain on a stack. Every problem is
//! pushed as a [`Diagnostic`] and the walk carries on with a poisoned value, so one run reports
//! all errors of a pack. Definitions are inlined into the formulas they are used in; the calls
//! (`exists`, `coalesce` and the table methods, which become features) are checked in
//! `calls.rs`, which extends [`Checker`].

use std::collections::HashMap;

use super::declare::{Declarations, BUILTINS};
use super::value::{Duration, Ty, Val};
use crate::dates;
use crate::diagnostics::{
    definition_too_large, did_you_mean_hint, Code, Diagnostic, DiagnosticsExt, Span,
    HINT_DEFINE_DOUBLES, HINT_RECORD_DATE_ARITHMETIC, HINT_RECORD_SOURCE, HINT_WINDOW_BOUND,
    HINT_WINDOW_ORDER, MSG_RECORD_DATE_ARITHMETIC, MSG_WINDOW_BOUND, MSG_WINDOW_END_BEFORE_START,
};
use crate::plan::{self, CmpOp, Feature, Offset, RecordField, Table, Window};
use crate::syntax::{BinOp, Expr as Ast, ExprKind};

/// The longest reach of a window from the index date, in years. A larger one is almost
/// certainly a typo, and rejecting it keeps date arithmetic in range.
pub const MAX_WINDOW_YEARS: i32 = 200;

/// Deepest chain of definitions using definitions.
pub const MAX_DEFINE_DEPTH: usize = 64;
/// Largest formula (nodes after inlining definitions) and deepest nesting the evaluator accepts.
pub const MAX_FORMULA_NODES: usize = 100_000;
pub const MAX_FORMULA_DEPTH: usize = 256;

/// The walk's state: the declarations it resolves names in, what it has found so far.
pub(super) struct Checker<'d> {
    pub(super) decls: &'d Declarations,
    pub(super) diags: Vec<Diagnostic>,
    /// Definitions already resolved, by name.
    resolved: HashMap<String, Val>,
    /// The chain of definitions being resolved, outermost first.
    in_progress: Vec<String>,
    /// A too-deep chain of definitions is reported once, not once per entry point.
    depth_reported: bool,
    /// The record queries met so far, each once (see `calls.rs`).
    pub(super) features: Vec<Feature>,
    pub(super) feature_ids: HashMap<Feature, usize>,
}

impl<'d> Checker<'d> {
    /// A walk over `decls`, adding its diagnostics to `diags`.
    pub(super) fn new(decls: &'d Declarations, diags: Vec<Diagnostic>) -> Self {
        Checker {
            decls,
            diags,
            resolved: HashMap::new(),
            in_progress: Vec::new(),
            depth_reported: false,
            features: Vec::new(),
            feature_ids: HashMap::new(),
        }
    }

    /// A definition's value, once resolved.
    pub(super) fn resolved(&self, name: &str) -> Option<&Val> {
        self.resolved.get(name)
    }

    /// The features the walk met, and every diagnostic.
    pub(super) fn finish(self) -> (Vec<Feature>, Vec<Diagnostic>) {
        (self.features, self.diags)
    }

    /// The value of a name: a built-in, a parameter, a codelist or a definition (resolved on
    /// first use).
    pub(super) fn name(&mut self, name: &str, span: Span) -> Val {
        if let Some((_, v)) = BUILTINS.iter().find(|(b, _)| *b == name) {
            return v.clone();
        }
        if let Some((_, v)) = self.decls.params.get(name) {
            return v.clone();
        }
        if let Some(d) = self.decls.codelist_decls.get(name) {
            return d.loaded.map_or(Val::Poison, Val::Codelist);
        }
        if self.decls.defines.contains_key(name) {
            return self.define(name);
        }
        let candidates: Vec<String> = BUILTINS
            .iter()
            .map(|(b, _)| b.to_string())
            .chain(self.decls.params.keys().cloned())
            .chain(self.decls.codelist_decls.keys().cloned())
            .chain(self.decls.defines.keys().cloned())
            .collect();
        let hint = did_you_mean_hint(name, candidates.iter().map(String::as_str))
            .unwrap_or_else(|| "define it with `define`, `param` or `codelist`".into());
        self.diags
            .error(
                Code::UnknownName,
                span,
                format!("unknown name `{name}`"),
                "not defined anywhere in the rules",
            )
            .hint = Some(hint);
        Val::Poison
    }

    /// A definition's value: memoised, with the chain of definitions being resolved kept on a
    /// stack, so a cycle is a name already on it.
    fn define(&mut self, name: &str) -> Val {
        if let Some(v) = self.resolved.get(name) {
            return v.clone();
        }
        if let Some(pos) = self.in_progress.iter().position(|n| n == name) {
            let mut chain: Vec<String> = self.in_progress[pos..].to_vec();
            chain.push(name.to_string());
            let def_span = self.decls.defines[name].0.span;
            self.diags
                .error(
                    Code::DefinitionCycle,
                    def_span,
                    format!("definitions form a cycle: {}", chain.join(" -> ")),
                    "this definition depends on itself",
                )
                .hint = Some("a definition cannot use itself, directly or through others".into());
            self.resolved.insert(name.to_string(), Val::Poison);
            return Val::Poison;
        }
        if self.in_progress.len() >= MAX_DEFINE_DEPTH {
            self.resolved.insert(name.to_string(), Val::Poison);
            if std::mem::replace(&mut self.depth_reported, true) {
                return Val::Poison;
            }
            let def_span = self.decls.defines[name].0.span;
            self.diags
                .error(
                    Code::DefineChainTooLong,
                    def_span,
                    format!("definitions nested more than {MAX_DEFINE_DEPTH} deep"),
                    "used through too long a chain of definitions",
                )
                .hint = Some(format!("the chain starts at `{}`", self.in_progress[0]));
            return Val::Poison;
        }
        self.in_progress.push(name.to_string());
        let decls = self.decls;
        let mut v = self.expr(&decls.defines[name].1);
        if let Val::Runtime(e, _) = &v {
            let (nodes, depth) = measure_formula(e, 1, MAX_FORMULA_NODES + 1);
            if nodes > MAX_FORMULA_NODES || depth > MAX_FORMULA_DEPTH {
                let def_span = self.decls.defines[name].0.span;
                let message = definition_too_large(name, MAX_FORMULA_NODES, MAX_FORMULA_DEPTH);
                self.diags
                    .error(Code::FormulaTooLarge, def_span, message, "here")
                    .hint = Some(HINT_DEFINE_DOUBLES.into());
                v = Val::Poison;
            }
        }
        self.in_progress.pop();
        // A cycle found deeper may already have poisoned this name; keep the poison.
        let v = self.resolved.get(name).cloned().unwrap_or(v);
        self.resolved.insert(name.to_string(), v.clone());
        v
    }

    pub(super) fn expect_bool(&mut self, v: Val, span: Span, what: &str) -> Option<plan::Expr> {
        match v {
            Val::Runtime(e, Ty::Bool) => Some(e),
            Val::Poison => None,
            other => {
                let found = other.describe();
                self.diags.error(
                    Code::NotACondition,
                    span,
                    format!("{what} must be a condition (true/false), found {found}"),
                    format!("this is {found}"),
                );
                None
            }
        }
    }

    pub(super) fn expr(&mut self, e: &Ast) -> Val {
        match &e.kind {
            ExprKind::Number(_) | ExprKind::Str(_) | ExprKind::Bool(_) | ExprKind::Duration(..) => {
                Val::literal(&e.kind).expect("a literal has a value")
            }
            ExprKind::Name(n) => self.name(n, e.span),
            ExprKind::Invalid => Val::Poison,
            ExprKind::Window(start, end) => self.window(e.span, start.as_deref(), end.as_deref()),
            ExprKind::Call {
                receiver,
                func,
                args,
            } => self.call(e.span, receiver.as_ref(), func, args),
            ExprKind::Field(base, field) => {
                let b = self.expr(base);
                match b {
                    Val::Record(f, table) => {
                        let rf = match field.name.as_str() {
                            "date" => Some((RecordField::Date, Ty::Date)),
                            "value" => Some((RecordField::Value, Ty::Num)),
                            "comparator" => Some((RecordField::Comparator, Ty::Str)),
                            _ => None,
                        };
                        match rf {
                            Some((RecordField::Value | RecordField::Comparator, _))
                                if table == Table::Medications =>
                            {
                                self.diags
                                    .error(
                                        Code::MedicationHasNoValue,
                                        field.span,
                                        format!("medication records have no `{}`", field.name),
                                        "only clinical events carry a value and comparator",
                                    )
                                    .hint = Some("use `.date`, or query `clinical_events`".into());
                                Val::Poison
                            }
                            Some((rf, ty)) => Val::Runtime(plan::Expr::Record(f, rf), ty),
                            None => {
                                let hint =
                                    did_you_mean_hint(&field.name, ["date", "value", "comparator"])
                                        .unwrap_or_else(|| {
                                            "records have `date`, `value` and `comparator`".into()
                                        });
                                self.diags
                                    .error(
                                        Code::UnknownRecordField,
                                        field.span,
                                        format!("records have no field `{}`", field.name),
                                        "unknown field",
                                    )
                                    .hint = Some(hint);
                                Val::Poison
                            }
                        }
                    }
                    Val::Poison => Val::Poison,
                    other => {
                        let found = other.describe();
                        let message = format!("`.{}` needs a record, found {found}", field.name);
                        self.diags
                            .error(
                                Code::FieldNeedsRecord,
                                base.span,
                                message,
                                format!("this is {found}"),
                            )
                            .hint = Some(HINT_RECORD_SOURCE.into());
                        Val::Poison
                    }
                }
            }
            ExprKind::Not(inner) => {
                let v = self.expr(inner);
                match self.expect_bool(v, inner.span, "the operand of `not`") {
                    Some(x) => Val::Runtime(plan::Expr::Not(Box::new(x)), Ty::Bool),
                    None => Val::Poison,
                }
            }
            ExprKind::Neg(inner) => match self.expr(inner) {
                Val::Runtime(plan::Expr::Num(n), _) => Val::Runtime(plan::Expr::Num(-n), Ty::Num),
                Val::Duration(d) => Val::Duration(Duration {
                    months: -d.months,
                    days: -d.days,
                }),
                Val::Poison => Val::Poison,
                other => {
                    let found = other.describe();
                    self.diags.error(
                        Code::CannotNegate,
                        inner.span,
                        format!("cannot negate {found}"),
                        "only number literals and durations can be negated",
                    );
                    Val::Poison
                }
            },
            ExprKind::Binary(op, l, r) => self.binary(e.span, *op, l, r),
            ExprKind::In {
                value,
                list,
                negated,
            } => {
                let v = self.expr(value);
                let Some((ve, vt)) = v.runtime() else {
                    if !matches!(v, Val::Poison) {
                        let found = v.describe();
                        self.diags.error(
                            Code::BadInValue,
                            value.span,
                            format!("`in` needs a string or a number on its left, found {found}"),
                            format!("this is {found}"),
                        );
                    }
                    return Val::Poison;
                };
                let mut items = Vec::new();
                let mut ok = true;
                for item in list {
                    let iv = self.expr(item);
                    match iv.runtime() {
                        Some((ie, it)) if it == vt => items.push(ie),
                        Some((_, it)) => {
                            self.diags.error(
                                Code::TypeMismatch,
                                item.span,
                                format!(
                                    "type mismatch: the list holds {} but the value is {}",
                                    it.name(),
                                    vt.name()
                                ),
                                format!("this is {}", it.name()),
                            );
                            ok = false;
                        }
                        None => {
                            if !matches!(iv, Val::Poison) {
                                let found = iv.describe();
                                self.diags.error(
                                    Code::BadListEntry,
                                    item.span,
                                    format!("a list entry must be a value, found {found}"),
                                    format!("this is {found}"),
                                );
                            }
                            ok = false;
                        }
                    }
                }
                if !ok {
                    return Val::Poison;
                }
                let membership = plan::Expr::In(Box::new(ve), items);
                Val::Runtime(
                    if *negated {
                        plan::Expr::Not(Box::new(membership))
                    } else {
                        membership
                    },
                    Ty::Bool,
                )
            }
        }
    }

    fn binary(&mut self, span: Span, op: BinOp, l: &Ast, r: &Ast) -> Val {
        let lv = self.expr(l);
        let rv = self.expr(r);
        match op {
            BinOp::And | BinOp::Or => {
                let what = format!("each side of `{}`", op.symbol());
                let a = self.expect_bool(lv, l.span, &what);
                let b = self.expect_bool(rv, r.span, &what);
                let (Some(a), Some(b)) = (a, b) else {
                    return Val::Poison;
                };
                // Flatten chains written in one expression so the evaluator sees one n-ary
                // node, but keep a named definition as its own node: the evaluator computes a
                // shared node once per patient and date, so `base_population` used by every
                // measure costs one evaluation.
                let mut parts = Vec::new();
                for (x, side) in [(a, l), (b, r)] {
                    let named = matches!(side.kind, ExprKind::Name(_));
                    match (op, x) {
                        (BinOp::And, plan::Expr::And(v)) | (BinOp::Or, plan::Expr::Or(v))
                            if !named =>
                        {
                            parts.extend(v)
                        }
                        (BinOp::And, plan::Expr::And(v)) | (BinOp::Or, plan::Expr::Or(v)) => {
                            parts.extend(v)
                        }
                        (_, x) => parts.push(x),
                    }
                }
                Val::Runtime(
                    if op == BinOp::And {
                        plan::Expr::And(parts)
                    } else {
                        plan::Expr::Or(parts)
                    },
                    Ty::Bool,
                )
            }
            BinOp::Add | BinOp::Sub => {
                let sign = if op == BinOp::Add { 1 } else { -1 };
                match (lv, rv) {
                    (Val::RelDate(o), Val::Duration(d)) => self.shift(span, o, d, sign),
                    (Val::Duration(a), Val::Duration(b)) => Val::Duration(Duration {
                        months: a.months + sign * b.months,
                        days: a.days + sign * b.days,
                    }),
                    (Val::Runtime(plan::Expr::Num(a), _), Val::Runtime(plan::Expr::Num(b), _)) => {
                        Val::Runtime(plan::Expr::Num(a + sign as f64 * b), Ty::Num)
                    }
                    (Val::Poison, _) | (_, Val::Poison) => Val::Poison,
                    (Val::Runtime(_, Ty::Date), Val::Duration(_)) => {
                        let message = MSG_RECORD_DATE_ARITHMETIC;
                        self.diags
                            .error(Code::RecordDateArithmetic, l.span, message, "a record date")
                            .hint = Some(HINT_RECORD_DATE_ARITHMETIC.into());
                        Val::Poison
                    }
                    (a, b) => {
                        let (da, db) = (a.describe(), b.describe());
                        self.diags
                            .error(
                                Code::TypeMismatch,
                                span,
                                format!(
                                    "type mismatch: cannot apply `{}` to {da} and {db}",
                                    op.symbol()
                                ),
                                "here",
                            )
                            .hint = Some("dates move by durations: `index - 3 months`".into());
                        Val::Poison
                    }
                }
            }
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let cmp = match op {
                    BinOp::Eq => CmpOp::Eq,
                    BinOp::Ne => CmpOp::Ne,
                    BinOp::Lt => CmpOp::Lt,
                    BinOp::Le => CmpOp::Le,
                    BinOp::Gt => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                if matches!(lv, Val::Poison) || matches!(rv, Val::Poison) {
                    return Val::Poison;
                }
                match (lv.runtime(), rv.runtime()) {
                    (Some((a, ta)), Some((b, tb))) if ta == tb => {
                        if ta == Ty::Bool && !matches!(cmp, CmpOp::Eq | CmpOp::Ne) {
                            self.diags.error(
                                Code::BooleansNotOrdered,
                                span,
                                format!("booleans cannot be ordered with `{}`", op.symbol()),
                                "here",
                            );
                            return Val::Poison;
                        }
                        Val::Runtime(plan::Expr::Cmp(cmp, Box::new(a), Box::new(b)), Ty::Bool)
                    }
                    _ => {
                        let (da, db) = (lv.describe(), rv.describe());
                        let d = self.diags.error(
                            Code::TypeMismatch,
                            span,
                            format!("type mismatch: cannot compare {da} with {db}"),
                            format!("{da} {} {db}", op.symbol()),
                        );
                        d.hint = Some("both sides of a comparison must have the same type".into());
                        Val::Poison
                    }
                }
            }
        }
    }

    fn shift(&mut self, span: Span, o: Offset, d: Duration, sign: i64) -> Val {
        let months = o.months as i64 + sign * d.months;
        let days = o.days as i64 + sign * d.days;
        let max_m = MAX_WINDOW_YEARS as i64 * 12;
        let max_d = MAX_WINDOW_YEARS as i64 * 366;
        if months.abs() > max_m || days.abs() > max_d {
            self.diags
                .error(
                    Code::DateTooFar,
                    span,
                    format!("this date is more than {MAX_WINDOW_YEARS} years from the index date"),
                    "too far",
                )
                .hint =
                Some("for the whole record history use an open window: `[.., index]`".into());
            return Val::Poison;
        }
        Val::RelDate(Offset {
            months: months as i32,
            days: days as i32,
        })
    }

    fn window(&mut self, span: Span, start: Option<&Ast>, end: Option<&Ast>) -> Val {
        let bound = |c: &mut Self, e: Option<&Ast>| -> Result<Option<Offset>, ()> {
            let Some(e) = e else { return Ok(None) };
            match c.expr(e) {
                Val::RelDate(o) => Ok(Some(o)),
                Val::Poison => Err(()),
                other => {
                    let found = other.describe();
                    let message = format!("{MSG_WINDOW_BOUND}, found {found}");
                    let label = format!("this is {found}");
                    c.diags
                        .error(Code::BadWindowBound, e.span, message, label)
                        .hint = Some(HINT_WINDOW_BOUND.into());
                    Err(())
                }
            }
        };
        let s = bound(self, start);
        let t = bound(self, end);
        let (Ok(s), Ok(t)) = (s, t) else {
            return Val::Poison;
        };
        if let (Some(a), Some(b)) = (s, t) {
            if window_end_before_start(a, b) {
                let message = MSG_WINDOW_END_BEFORE_START;
                self.diags
                    .error(Code::WindowEndBeforeStart, span, message, "empty window")
                    .hint = Some(HINT_WINDOW_ORDER.into());
                return Val::Poison;
            }
        }
        Val::Window(Window { start: s, end: t })
    }
}

/// Node count (stopping early past `cap`) and depth of a formula.
pub(super) fn measure_formula(e: &plan::Expr, depth: usize, cap: usize) -> (usize, usize) {
    use plan::Expr as E;
    let children: Vec<&E> = match e {
        E::Exists(x) | E::Not(x) => vec![x],
        E::Coalesce(a, b) | E::Cmp(_, a, b) => vec![a, b],
        E::And(xs) | E::Or(xs) => xs.iter().collect(),
        E::In(x, xs) => std::iter::once(&**x).chain(xs.iter()).collect(),
        _ => vec![],
    };
    let (mut nodes, mut max_depth) = (1, depth);
    for c in children {
        if nodes > cap || depth > MAX_FORMULA_DEPTH {
            break;
        }
        let (n, d) = measure_formula(c, depth + 1, cap);
        nodes += n;
        max_depth = max_depth.max(d);
    }
    (nodes, max_depth)
}

/// True when, for some first-of-month index date, the window's end falls before its start.
/// Months and days do not convert exactly, so the check samples index dates across a leap
/// cycle instead of guessing a conversion.
fn window_end_before_start(a: Offset, b: Offset) -> bool {
    let Some(base) = dates::from_ymd(2000, 1, 1) else {
        return false;
    };
    (0..48).any(|m| {
        let Some(i) = dates::add_months(base, m) else {
            return false;
        };
        let at = |o: Offset| dates::add_months(i, o.months).map(|d| d + o.days);
        matches!((at(a), at(b)), (Some(x), Some(y)) if y < x)
    })
}
