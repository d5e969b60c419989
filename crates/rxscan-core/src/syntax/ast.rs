//! The syntax tree: what the user wrote, with a span on every node. No name is resolved here.

use crate::diagnostics::Span;

#[derive(Debug, Clone)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// One top-level declaration.
#[derive(Debug, Clone)]
pub enum Item {
    /// `codelist NAME = dmd("file.csv", column: "id")` (or `snomedct(...)`).
    Codelist {
        name: Ident,
        system: Ident,
        path: (String, Span),
        column: Option<(String, Span)>,
        span: Span,
    },
    /// `param NAME = literal`: a constant that `--param NAME=VALUE` may override.
    Param { name: Ident, value: Expr },
    /// `define NAME = expr`: a named expression, reusable from any file of the pack.
    Define { name: Ident, value: Expr },
    /// `population = expr`: who is counted at all (the practice list of the summary).
    Population { value: Expr, span: Span },
    /// `measure ID { key = value ... }`.
    Measure {
        id: Ident,
        fields: Vec<Field>,
        span: Span,
    },
    /// `composite ID = [member, ...]`.
    Composite {
        id: Ident,
        members: Vec<Ident>,
        span: Span,
    },
}

#[derive(Debug, Clone)]
pub struct Field {
    pub key: Ident,
    pub value: Expr,
}

#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationUnit {
    Days,
    Weeks,
    Months,
    Years,
}

impl DurationUnit {
    /// The unit a word names, singular or plural: `day`, `weeks`, `month`, `years`.
    pub fn from_word(word: &str) -> Option<DurationUnit> {
        match word {
            "day" | "days" => Some(DurationUnit::Days),
            "week" | "weeks" => Some(DurationUnit::Weeks),
            "month" | "months" => Some(DurationUnit::Months),
            "year" | "years" => Some(DurationUnit::Years),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    And,
    Or,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
        }
    }
}

#[derive(Debug, Clone)]
pub enum ExprKind {
    Number(f64),
    Str(String),
    Bool(bool),
    /// `3 months`, `27 days`.
    Duration(i64, DurationUnit),
    Name(String),
    /// `[start, end]`; `..` for an open end.
    Window(Option<Box<Expr>>, Option<Box<Expr>>),
    /// `f(args)` or `table.f(args)`.
    Call {
        receiver: Option<Ident>,
        func: Ident,
        args: Vec<Expr>,
    },
    /// `expr.field`.
    Field(Box<Expr>, Ident),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `expr in (a, b)`, `expr not in (a, b)`.
    In {
        value: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    /// What a syntax error left of a definition's value (already reported): its uses resolve
    /// without further errors.
    Invalid,
}
