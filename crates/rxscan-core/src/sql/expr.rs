//! Formulas as SQL expressions over one row per patient and index date.
//!
//! The Plan's logic is two-valued: a comparison or `in` with a missing side is *false*, so
//! `not (x < 45)` is true when `x` is missing. SQL's is three-valued (`NULL < 45` is `NULL`,
//! and `NOT NULL` is `NULL`), so every comparison is wrapped in `COALESCE(..., FALSE)` and every
//! other boolean the lowering writes is never `NULL` (flags are coalesced, `exists` is
//! `IS NOT NULL`). `and`, `or` and `not` then mean what they mean in the Plan. Values (numbers,
//! strings, dates) stay nullable: `NULL` is the Plan's missing value, and `COALESCE` is its
//! `coalesce`.
//!
//! Column names come from the views of `script.rs`: `b.age`, `b.sex`, `b.dead` and `b.o<k>`
//! (the day `index + offset k`, worked out when the script is written) on the row of
//! registered patients; on the row of features, `f.h<k>` (not `NULL` where a `has` or `within`
//! feature holds) and `f.d<k>`, `f.v<k>`, `f.c<k>` (a `latest` record's date, value and
//! comparator, all `NULL` where none was found).

use super::dialect::Dialect;
use crate::plan::{CmpOp, Expr, Offset, RecordField};

/// Lowers formulas; `offsets` numbers the index-date offsets the dates table carries.
pub(super) struct Lower<'a> {
    pub(super) dialect: &'a dyn Dialect,
    pub(super) offsets: &'a [Offset],
}

impl Lower<'_> {
    /// The column holding the day `index + o`.
    pub(super) fn offset_column(&self, o: Offset) -> String {
        let k = self
            .offsets
            .iter()
            .position(|&x| x == o)
            .expect("every offset of the plan is collected before lowering");
        format!("o{k}")
    }

    /// A formula that is a condition, as a never-`NULL` SQL boolean.
    pub(super) fn condition(&self, e: &Expr) -> String {
        match e {
            // Formulas are evaluated only on the rows of `rxscan_registered` (as the engine
            // evaluates only registered lanes), where `registered` holds.
            Expr::Bool(true) | Expr::Registered => "TRUE".into(),
            Expr::Bool(false) => "FALSE".into(),
            Expr::Dead => "b.dead".into(),
            Expr::Flag(f) => format!("(f.h{f} IS NOT NULL)"),
            Expr::RecordExists(f) => format!("(f.d{f} IS NOT NULL)"),
            Expr::Exists(x) if is_condition(x) => "TRUE".into(),
            Expr::Exists(x) => format!("({} IS NOT NULL)", self.value(x)),
            Expr::Coalesce(a, _) if is_condition(a) => self.condition(a),
            Expr::Not(x) if is_condition(x) => format!("(NOT {})", self.condition(x)),
            // `not` of a value is true only where the value is `false` (never in a checked plan).
            Expr::Not(x) => format!("COALESCE({} = FALSE, FALSE)", self.value(x)),
            Expr::And(xs) => self.join(xs, "AND", "TRUE"),
            Expr::Or(xs) => self.join(xs, "OR", "FALSE"),
            Expr::Cmp(op, a, b) => self.compare(*op, a, b),
            Expr::In(x, items) => {
                let parts: Vec<Expr> = items
                    .iter()
                    .map(|i| Expr::Cmp(CmpOp::Eq, x.clone(), Box::new(i.clone())))
                    .collect();
                self.join(&parts, "OR", "FALSE")
            }
            other => format!("COALESCE({} = TRUE, FALSE)", self.value(other)),
        }
    }

    fn join(&self, xs: &[Expr], op: &str, empty: &str) -> String {
        if xs.is_empty() {
            return empty.into();
        }
        let parts: Vec<String> = xs.iter().map(|x| self.condition(x)).collect();
        format!("({})", parts.join(&format!(" {op} ")))
    }

    fn compare(&self, op: CmpOp, a: &Expr, b: &Expr) -> String {
        let sym = match op {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        };
        format!("COALESCE({} {sym} {}, FALSE)", self.value(a), self.value(b))
    }

    /// A formula as a nullable SQL value (`NULL` = missing).
    pub(super) fn value(&self, e: &Expr) -> String {
        match e {
            Expr::Num(n) => number(*n),
            Expr::Str(s) => self.dialect.string(s),
            Expr::Age => "b.age".into(),
            Expr::Sex => "b.sex".into(),
            Expr::IndexDate(o) => format!("b.{}", self.offset_column(*o)),
            Expr::Record(f, RecordField::Date) => format!("f.d{f}"),
            Expr::Record(f, RecordField::Value) => format!("f.v{f}"),
            Expr::Record(f, RecordField::Comparator) => format!("f.c{f}"),
            Expr::Coalesce(a, b) if !is_condition(a) => {
                format!("COALESCE({}, {})", self.value(a), self.value(b))
            }
            condition => self.condition(condition),
        }
    }
}

/// Whether a formula is a boolean (never missing) rather than a value.
pub(super) fn is_condition(e: &Expr) -> bool {
    match e {
        Expr::Bool(_)
        | Expr::Registered
        | Expr::Dead
        | Expr::Flag(_)
        | Expr::RecordExists(_)
        | Expr::Exists(_)
        | Expr::Not(_)
        | Expr::And(_)
        | Expr::Or(_)
        | Expr::Cmp(..)
        | Expr::In(..) => true,
        Expr::Coalesce(a, _) => is_condition(a),
        Expr::Num(_)
        | Expr::Str(_)
        | Expr::Age
        | Expr::Sex
        | Expr::IndexDate(_)
        | Expr::Record(..) => false,
    }
}

/// A number as a DOUBLE literal both engines read exactly (`4.5e1`): a plain `45.0` would be
/// a DECIMAL in both, and `45` an INTEGER.
pub(super) fn number(n: f64) -> String {
    format!("CAST({n:e} AS DOUBLE)")
}

/// Every index-date offset a formula reads, in first-use order, without repeats.
pub(super) fn offsets_in(e: &Expr, out: &mut Vec<Offset>) {
    match e {
        Expr::IndexDate(o) if !out.contains(o) => out.push(*o),
        Expr::Exists(x) | Expr::Not(x) => offsets_in(x, out),
        Expr::Coalesce(a, b) | Expr::Cmp(_, a, b) => {
            offsets_in(a, out);
            offsets_in(b, out);
        }
        Expr::And(xs) | Expr::Or(xs) => xs.iter().for_each(|x| offsets_in(x, out)),
        Expr::In(x, xs) => {
            offsets_in(x, out);
            xs.iter().for_each(|x| offsets_in(x, out));
        }
        _ => {}
    }
}
