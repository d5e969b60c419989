//! Evaluating plan formulas for one patient at one index date.
//!
//! The formulas of all measures are first hash-consed into one [`Program`]: every distinct
//! subtree becomes one node, so a definition used by many measures (`base_population`, a
//! denominator repeated inside its numerator) is one node. Evaluation memoises each node per
//! patient and date (a generation counter, so nothing is cleared between dates), which makes
//! the cost of a date proportional to the distinct work, not to the text of the rules.
//! Missing values follow the rules in the plan's documentation: comparisons and `in` with a
//! missing side are false.

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

/// Index of a node in a [`Program`].
pub type NodeId = u32;

#[derive(Debug, Clone)]
enum Node {
    Bool(bool),
    Num(f64),
    Str(String),
    Age,
    Sex,
    Registered,
    Dead,
    IndexDate(Offset),
    Flag(usize),
    Record(usize, RecordField),
    RecordExists(usize),
    Exists(NodeId),
    Coalesce(NodeId, NodeId),
    Not(NodeId),
    And(Vec<NodeId>),
    Or(Vec<NodeId>),
    Cmp(CmpOp, NodeId, NodeId),
    In(NodeId, Vec<NodeId>),
}

/// All formulas of a plan as one graph of shared nodes.
#[derive(Debug, Clone, Default)]
pub struct Program {
    nodes: Vec<Node>,
    ids: std::collections::HashMap<String, NodeId>,
}

/// Per-thread memo for a [`Program`]: the generation each node was computed in, and its value.
pub struct Memo<'p> {
    generation: u32,
    slots: Vec<std::cell::Cell<(u32, V<'p>)>>,
}

impl<'p> Memo<'p> {
    pub fn new(program: &Program) -> Memo<'p> {
        Memo {
            generation: 1,
            slots: vec![std::cell::Cell::new((0, V::Missing)); program.nodes.len()],
        }
    }
    /// Forget every value (a new patient or date).
    pub fn next(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.slots.iter().for_each(|c| c.set((0, V::Missing)));
            self.generation = 1;
        }
    }
}

impl Program {
    /// Add a formula; returns its root node.
    pub fn add(&mut self, e: &Expr) -> NodeId {
        let node = match e {
            Expr::Bool(b) => Node::Bool(*b),
            Expr::Num(n) => Node::Num(*n),
            Expr::Str(s) => Node::Str(s.clone()),
            Expr::Age => Node::Age,
            Expr::Sex => Node::Sex,
            Expr::Registered => Node::Registered,
            Expr::Dead => Node::Dead,
            Expr::IndexDate(o) => Node::IndexDate(*o),
            Expr::Flag(f) => Node::Flag(*f),
            Expr::Record(f, r) => Node::Record(*f, *r),
            Expr::RecordExists(f) => Node::RecordExists(*f),
            Expr::Exists(x) => Node::Exists(self.add(x)),
            Expr::Coalesce(a, b) => Node::Coalesce(self.add(a), self.add(b)),
            Expr::Not(x) => Node::Not(self.add(x)),
            Expr::And(xs) => Node::And(xs.iter().map(|x| self.add(x)).collect()),
            Expr::Or(xs) => Node::Or(xs.iter().map(|x| self.add(x)).collect()),
            Expr::Cmp(op, a, b) => Node::Cmp(*op, self.add(a), self.add(b)),
            Expr::In(x, xs) => Node::In(self.add(x), xs.iter().map(|x| self.add(x)).collect()),
        };
        // Children are already shared, so the node's debug text identifies it.
        let key = format!("{node:?}");
        if let Some(&id) = self.ids.get(&key) {
            return id;
        }
        self.nodes.push(node);
        let id = (self.nodes.len() - 1) as NodeId;
        self.ids.insert(key, id);
        id
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn truth<'p>(&'p self, id: NodeId, c: &Ctx<'_>, m: &Memo<'p>) -> bool {
        matches!(self.eval(id, c, m), V::Bool(true))
    }

    pub fn eval<'p>(&'p self, id: NodeId, c: &Ctx<'_>, m: &Memo<'p>) -> V<'p> {
        // Constants and patient facts cost less to read than a memo slot.
        match &self.nodes[id as usize] {
            Node::Bool(b) => return V::Bool(*b),
            Node::Num(n) => return V::Num(*n),
            Node::Str(s) => return V::Str(s),
            Node::Age => return V::Num(c.age as f64),
            Node::Sex => return V::Str(c.sex),
            Node::Registered => return V::Bool(c.registered),
            Node::Dead => return V::Bool(c.dead),
            _ => {}
        }
        let slot = &m.slots[id as usize];
        let (g, v) = slot.get();
        if g == m.generation {
            return v;
        }
        let v = match &self.nodes[id as usize] {
            Node::Bool(b) => V::Bool(*b),
            Node::Num(n) => V::Num(*n),
            Node::Str(s) => V::Str(s),
            Node::Age => V::Num(c.age as f64),
            Node::Sex => V::Str(c.sex),
            Node::Registered => V::Bool(c.registered),
            Node::Dead => V::Bool(c.dead),
            Node::IndexDate(o) => c
                .offset_days
                .iter()
                .find(|(k, _)| k == o)
                .map_or(V::Missing, |&(_, d)| V::Date(d)),
            Node::Flag(f) => V::Bool(c.features.flag(*f)),
            Node::RecordExists(f) => V::Bool(c.features.record(*f).is_some()),
            Node::Record(f, field) => match c.features.record(*f) {
                None => V::Missing,
                Some(r) => match field {
                    RecordField::Date => V::Date(r.day),
                    RecordField::Value if r.value.is_nan() => V::Missing,
                    RecordField::Value => V::Num(r.value),
                    RecordField::Comparator => V::Str(r.comparator.as_str()),
                },
            },
            Node::Exists(x) => V::Bool(!matches!(self.eval(*x, c, m), V::Missing)),
            Node::Coalesce(a, b) => match self.eval(*a, c, m) {
                V::Missing => self.eval(*b, c, m),
                v => v,
            },
            Node::Not(x) => match self.eval(*x, c, m) {
                V::Bool(b) => V::Bool(!b),
                _ => V::Bool(false),
            },
            Node::And(xs) => V::Bool(xs.iter().all(|&x| self.truth(x, c, m))),
            Node::Or(xs) => V::Bool(xs.iter().any(|&x| self.truth(x, c, m))),
            Node::Cmp(op, a, b) => V::Bool(compare(*op, self.eval(*a, c, m), self.eval(*b, c, m))),
            Node::In(x, list) => {
                let v = self.eval(*x, c, m);
                V::Bool(
                    !matches!(v, V::Missing)
                        && list
                            .iter()
                            .any(|&item| compare(CmpOp::Eq, v, self.eval(item, c, m))),
                )
            }
        };
        slot.set((m.generation, v));
        v
    }
}
