//! Evaluating a plan formula for one patient at one index date.
//!
//! A direct tree walk over [`plan::Expr`]: formulas are small (tens of nodes) and every leaf
//! that touches records reads a feature value computed beforehand, so the walk itself is
//! cheap. Missing values follow the rules in the plan's documentation: comparisons and `in`
//! with a missing side are false.

use crate::dates::Day;
use crate::extract::Comparator;
use crate::plan::{CmpOp, Expr, Offset, RecordField};

/// A value during evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum V<'a> {
    Bool(bool),
    Num(f64),
    Str(&'a str),
    Date(Day),
    Missing,
}

/// A record found by a `Latest` feature.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rec {
    pub day: Day,
    pub value: f64,
    pub comparator: Comparator,
}

/// Record-derived facts, computed on first use (formulas short-circuit, so most features of
/// most patients are never needed).
pub trait Features {
    /// A `Has` or `Within` feature.
    fn flag(&self, feature: usize) -> bool;
    /// A `Latest` feature's record.
    fn record(&self, feature: usize) -> Option<Rec>;
}

/// Everything a formula can read about one patient at one index date.
pub struct Ctx<'a> {
    pub age: i32,
    pub sex: &'static str,
    pub registered: bool,
    pub dead: bool,
    /// The day of every index-relative date the plan's formulas use, at this index date.
    pub offset_days: &'a [(Offset, Day)],
    pub features: &'a dyn Features,
}

pub fn truth(e: &Expr, c: &Ctx<'_>) -> bool {
    matches!(eval(e, c), V::Bool(true))
}

pub fn eval<'p>(e: &'p Expr, c: &Ctx<'_>) -> V<'p> {
    match e {
        Expr::Bool(b) => V::Bool(*b),
        Expr::Num(n) => V::Num(*n),
        Expr::Str(s) => V::Str(s),
        Expr::Age => V::Num(c.age as f64),
        Expr::Sex => V::Str(c.sex),
        Expr::Registered => V::Bool(c.registered),
        Expr::Dead => V::Bool(c.dead),
        Expr::IndexDate(o) => c.offset_days.iter().find(|(k, _)| k == o).map_or(V::Missing, |&(_, d)| V::Date(d)),
        Expr::Flag(f) => V::Bool(c.features.flag(*f)),
        Expr::RecordExists(f) => V::Bool(c.features.record(*f).is_some()),
        Expr::Record(f, field) => match c.features.record(*f) {
            None => V::Missing,
            Some(r) => match field {
                RecordField::Date => V::Date(r.day),
                RecordField::Value if r.value.is_nan() => V::Missing,
                RecordField::Value => V::Num(r.value),
                RecordField::Comparator => V::Str(r.comparator.as_str()),
            },
        },
        Expr::Exists(x) => V::Bool(!matches!(eval(x, c), V::Missing)),
        Expr::Coalesce(a, b) => match eval(a, c) {
            V::Missing => eval(b, c),
            v => v,
        },
        Expr::Not(x) => match eval(x, c) {
            V::Bool(b) => V::Bool(!b),
            _ => V::Bool(false),
        },
        Expr::And(xs) => V::Bool(xs.iter().all(|x| truth(x, c))),
        Expr::Or(xs) => V::Bool(xs.iter().any(|x| truth(x, c))),
        Expr::Cmp(op, a, b) => V::Bool(compare(*op, eval(a, c), eval(b, c))),
        Expr::In(x, list) => {
            let v = eval(x, c);
            V::Bool(!matches!(v, V::Missing) && list.iter().any(|item| compare(CmpOp::Eq, v, eval(item, c))))
        }
    }
}

fn compare(op: CmpOp, a: V<'_>, b: V<'_>) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (a, b) {
        (V::Num(x), V::Num(y)) => x.partial_cmp(&y),
        (V::Date(x), V::Date(y)) => Some(x.cmp(&y)),
        (V::Str(x), V::Str(y)) => Some(x.cmp(y)),
        (V::Bool(x), V::Bool(y)) => Some(x.cmp(&y)),
        _ => None,
    };
    let Some(o) = ord else { return false };
    match op {
        CmpOp::Eq => o == Ordering::Equal,
        CmpOp::Ne => o != Ordering::Equal,
        CmpOp::Lt => o == Ordering::Less,
        CmpOp::Le => o != Ordering::Greater,
        CmpOp::Gt => o == Ordering::Greater,
        CmpOp::Ge => o != Ordering::Less,
    }
}
