//! Evaluating plan formulas for one patient at up to 64 index dates at once ("lanes").
//!
//! The formulas of all measures are first hash-consed into one [`Program`]: every distinct
//! subtree becomes one node, so a definition used by many measures (`base_population`, a
//! denominator repeated inside its numerator) is one node.
//!
//! **Lanes.** A patient is evaluated at a block of up to 64 index dates in one walk of the
//! program: lane `l` is the `l`-th date of the block, and a boolean node evaluates to a `u64`
//! mask (bit `l` = true at that date). Interpreting a node once for all dates, instead of once
//! per date, is what makes a 60-date series cost little more than one date: the per-node
//! overhead (dispatch, memo lookup) is paid once per patient and block, and the per-lane work
//! is a few bit operations or a tight loop.
//!
//! - Every call carries a `need` mask: the lanes whose value is still wanted. `and` narrows it
//!   as its operands turn lanes false and stops when it is empty; `or` narrows it as operands
//!   turn lanes true; a measure's numerator is asked only for the lanes where its denominator
//!   holds, and nothing is asked for lanes where the population is false. Leaves (features,
//!   record fields, age) are computed only for the lanes asked.
//! - Memo: per node, the lanes already computed and their truth (value nodes: the lanes where
//!   they are present, and per-lane values in a slab, written and read only at those lanes),
//!   stamped with a generation so nothing is cleared between blocks. Comparisons read lane
//!   values in tight loops (numbers with the operator chosen once, outside the loop).
//! - Lane-invariant nodes (constants, `sex`, and anything built only from them, such as
//!   `sex in ("M", "F")`) are computed once per block, at lane 0, and broadcast.
//! - The patient's facts (registration, death, age, features over the hit lists) come through
//!   the [`Facts`] trait, implemented by the evaluator in `eval/mod.rs`.
//!
//! Missing values follow the rules in the plan's documentation: comparisons and `in` with a
//! missing side are false, `exists` tests presence, `coalesce` replaces them, and `not` of a
//! non-boolean is false.

use crate::dates::Day;
use crate::extract::Comparator;
use crate::plan::{CmpOp, Expr, Offset, RecordField};

/// A set of lanes (index dates of a block): bit `l` is lane `l`.
pub type Mask = u64;

/// Lanes per block.
pub const LANES: usize = 64;

/// A memoised boolean value at the lanes of `need`: a lane-invariant node stores its value in
/// lane 0 only, which then holds for every lane.
#[inline]
fn at_lanes(val: Mask, invariant: bool, need: Mask) -> Mask {
    match (invariant, val & 1 != 0) {
        (false, _) => val & need,
        (true, true) => need,
        (true, false) => 0,
    }
}

/// The lanes of `mask`, lowest first.
#[inline]
pub fn lanes(mut mask: Mask) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if mask == 0 {
            return None;
        }
        let l = mask.trailing_zeros() as usize;
        mask &= mask - 1;
        Some(l)
    })
}

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

/// What a formula can read about one patient at the lanes of a block. Features are computed
/// on demand for the lanes asked (formulas narrow their lanes, so most features of most
/// patients are never needed).
pub trait Facts {
    /// Lanes with a current registration.
    fn registered(&self) -> Mask;
    /// Lanes on or after the date of death.
    fn dead(&self) -> Mask;
    /// Completed years at lane `lane`'s index date.
    fn age(&self, lane: usize) -> i32;
    fn sex(&self) -> &'static str;
    /// The day of `index + program.offsets()[k]` at lane `lane`.
    fn index_date(&self, k: usize, lane: usize) -> Day;
    /// The lanes of `need` where a `Has` or `Within` feature holds (for a `Latest` feature: where
    /// it found a record).
    fn flag(&mut self, feature: usize, need: Mask) -> Mask;
    /// The lanes of `need` where a `Latest` feature found a record.
    fn latest(&mut self, feature: usize, need: Mask) -> Mask;
    /// The record of a `Latest` feature at a lane where [`Facts::latest`] reported one.
    fn record(&self, feature: usize, lane: usize) -> Rec;
}

#[inline]
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

/// A node's values at the lanes computed, for reading in a loop. A value node's slab entries
/// are valid only at the lanes where it is present.
#[derive(Clone, Copy)]
enum View<'m, 'p> {
    /// The same value at every lane.
    Same(V<'p>),
    /// One value per lane.
    Lanes(&'m [V<'p>]),
    /// A boolean node's truth per lane.
    Mask(Mask),
}

impl<'p> View<'_, 'p> {
    #[inline(always)]
    fn at(self, lane: usize) -> V<'p> {
        match self {
            View::Same(v) => v,
            View::Lanes(vs) => vs[lane],
            View::Mask(m) => V::Bool(m >> lane & 1 != 0),
        }
    }
}

/// The lanes of `live` where `pred` holds.
#[inline(always)]
fn lanes_where(live: Mask, mut pred: impl FnMut(usize) -> bool) -> Mask {
    let mut out = 0;
    for l in lanes(live) {
        out |= u64::from(pred(l)) << l;
    }
    out
}

/// The lanes of `live` where `xs[lane] op y` (numbers; anything else compares false, as in
/// [`compare`]), with the operator chosen once outside the loop.
fn compare_num_lanes(op: CmpOp, xs: &[V<'_>], y: f64, live: Mask) -> Mask {
    // NaN stands for a value that is not a number: every comparison with it is false.
    let x = |l: usize| match xs[l] {
        V::Num(x) => x,
        _ => f64::NAN,
    };
    match op {
        CmpOp::Eq => lanes_where(live, |l| x(l) == y),
        CmpOp::Ne => lanes_where(live, |l| x(l) < y || x(l) > y),
        CmpOp::Lt => lanes_where(live, |l| x(l) < y),
        CmpOp::Le => lanes_where(live, |l| x(l) <= y),
        CmpOp::Gt => lanes_where(live, |l| x(l) > y),
        CmpOp::Ge => lanes_where(live, |l| x(l) >= y),
    }
}

/// `op` with its sides swapped (`a op b` is `b swapped(op) a`).
fn swapped(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        CmpOp::Eq | CmpOp::Ne => op,
    }
}

/// The lanes of `live` where `op` holds between `a` and `b`.
#[inline]
fn compare_lanes(op: CmpOp, a: View<'_, '_>, b: View<'_, '_>, live: Mask) -> Mask {
    let mut out = 0;
    match (a, b) {
        (View::Lanes(xs), View::Same(V::Num(y))) => return compare_num_lanes(op, xs, y, live),
        (View::Same(V::Num(x)), View::Lanes(ys)) => {
            return compare_num_lanes(swapped(op), ys, x, live)
        }
        (View::Same(x), View::Same(y)) => {
            if compare(op, x, y) {
                out = live;
            }
        }
        (View::Lanes(xs), View::Same(y)) => {
            for l in lanes(live) {
                out |= u64::from(compare(op, xs[l], y)) << l;
            }
        }
        (View::Same(x), View::Lanes(ys)) => {
            for l in lanes(live) {
                out |= u64::from(compare(op, x, ys[l])) << l;
            }
        }
        _ => {
            for l in lanes(live) {
                out |= u64::from(compare(op, a.at(l), b.at(l))) << l;
            }
        }
    }
    out
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
    /// Index into [`Program::offsets`].
    IndexDate(usize),
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

/// Static facts about a node.
#[derive(Debug, Clone, Copy)]
struct Info {
    /// Always a `Bool` (never missing): evaluated to a mask. Otherwise a value node with
    /// per-lane values in the memo slab at `vslot`.
    boolean: bool,
    /// Depends on no lane (constants, `sex`, and nodes made only of them).
    invariant: bool,
    vslot: u32,
}

/// All formulas of a plan as one graph of shared nodes.
#[derive(Debug, Clone, Default)]
pub struct Program {
    nodes: Vec<Node>,
    info: Vec<Info>,
    value_nodes: u32,
    offsets: Vec<Offset>,
    ids: std::collections::HashMap<String, NodeId>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    generation: u32,
    /// Lanes computed.
    done: Mask,
    /// Boolean node: lanes (of `done`) where it is true. Value node: lanes where it is present.
    val: Mask,
}

/// Per-thread memo for a [`Program`]: per node the lanes computed in the current generation and
/// their truth; value nodes also keep one value per lane.
pub struct Memo<'p> {
    generation: u32,
    slots: Vec<Slot>,
    vals: Vec<V<'p>>,
}

impl<'p> Memo<'p> {
    pub fn new(program: &Program) -> Memo<'p> {
        Memo {
            generation: 1,
            slots: vec![Slot::default(); program.nodes.len()],
            vals: vec![V::Missing; program.value_nodes as usize * LANES],
        }
    }
    /// The lanes of `want` not yet computed for node `id` since the last [`Memo::next`] (a slot
    /// left from an earlier generation is reset first).
    #[inline]
    fn todo(&mut self, id: NodeId, want: Mask) -> Mask {
        let generation = self.generation;
        let slot = &mut self.slots[id as usize];
        if slot.generation != generation {
            *slot = Slot {
                generation,
                done: 0,
                val: 0,
            };
        }
        want & !slot.done
    }

    /// Node `id` is now computed at `lanes`, with `val` its truth (boolean nodes) or presence
    /// (value nodes) there.
    #[inline]
    fn record(&mut self, id: NodeId, lanes: Mask, val: Mask) {
        let slot = &mut self.slots[id as usize];
        slot.done |= lanes;
        slot.val |= val;
    }

    /// Forget every value (a new patient or block of dates).
    pub fn next(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.slots.iter_mut().for_each(|s| *s = Slot::default());
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
            Expr::IndexDate(o) => Node::IndexDate(match self.offsets.iter().position(|x| x == o) {
                Some(k) => k,
                None => {
                    self.offsets.push(*o);
                    self.offsets.len() - 1
                }
            }),
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
        let info = self.info_of(&node);
        self.nodes.push(node);
        self.info.push(info);
        let id = (self.nodes.len() - 1) as NodeId;
        self.ids.insert(key, id);
        id
    }

    fn info_of(&mut self, node: &Node) -> Info {
        let inv = |ids: &[NodeId]| ids.iter().all(|&x| self.info[x as usize].invariant);
        let (boolean, invariant) = match node {
            Node::Bool(_) => (true, true),
            Node::Num(_) | Node::Str(_) | Node::Sex => (false, true),
            Node::Age | Node::IndexDate(_) | Node::Record(..) => (false, false),
            Node::Registered | Node::Dead | Node::Flag(_) | Node::RecordExists(_) => (true, false),
            Node::Exists(x) | Node::Not(x) => (true, inv(&[*x])),
            // A boolean is never missing, so `coalesce` of one is that boolean.
            Node::Coalesce(a, b) => (self.info[*a as usize].boolean, inv(&[*a, *b])),
            Node::And(xs) | Node::Or(xs) => (true, inv(xs)),
            Node::Cmp(_, a, b) => (true, inv(&[*a, *b])),
            Node::In(x, xs) => (true, inv(&[*x]) && inv(xs)),
        };
        let vslot = if boolean {
            u32::MAX
        } else {
            self.value_nodes += 1;
            self.value_nodes - 1
        };
        Info {
            boolean,
            invariant,
            vslot,
        }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The index-relative dates the formulas use; [`Facts::index_date`] is asked by position.
    pub fn offsets(&self) -> &[Offset] {
        &self.offsets
    }

    /// The lanes of `need` where node `id` is `true`.
    pub fn truth<'p, F: Facts>(
        &'p self,
        id: NodeId,
        need: Mask,
        f: &mut F,
        m: &mut Memo<'p>,
    ) -> Mask {
        if need == 0 {
            return 0;
        }
        let info = self.info[id as usize];
        if !info.boolean {
            return self.lanes_equal(id, need, V::Bool(true), f, m);
        }
        // Constants and patient facts cost less to read than a memo slot.
        match &self.nodes[id as usize] {
            Node::Bool(b) => return if *b { need } else { 0 },
            Node::Registered => return f.registered() & need,
            Node::Dead => return f.dead() & need,
            _ => {}
        }
        let todo = m.todo(id, if info.invariant { 1 } else { need });
        if todo != 0 {
            let r = self.compute_bool(id, todo, f, m);
            m.record(id, todo, r);
        }
        at_lanes(m.slots[id as usize].val, info.invariant, need)
    }

    /// Make node `id`'s value known at the lanes of `need` (read them with [`Program::view`]).
    fn fill<'p, F: Facts>(&'p self, id: NodeId, need: Mask, f: &mut F, m: &mut Memo<'p>) {
        if need == 0 {
            return;
        }
        let info = self.info[id as usize];
        if info.boolean {
            self.truth(id, need, f, m);
            return;
        }
        let todo = m.todo(id, if info.invariant { 1 } else { need });
        if todo != 0 {
            let present = self.compute_values(id, info.vslot as usize * LANES, todo, f, m);
            m.record(id, todo, present);
        }
    }

    /// Node `id`'s values, once [`Program::fill`] covered the lanes to be read.
    #[inline]
    fn view<'m, 'p, F: Facts>(&'p self, id: NodeId, f: &F, m: &'m Memo<'p>) -> View<'m, 'p> {
        let info = self.info[id as usize];
        if !info.boolean {
            let base = info.vslot as usize * LANES;
            return if info.invariant {
                View::Same(m.vals[base])
            } else {
                View::Lanes(&m.vals[base..base + LANES])
            };
        }
        match &self.nodes[id as usize] {
            Node::Bool(b) => View::Same(V::Bool(*b)),
            Node::Registered => View::Mask(f.registered()),
            Node::Dead => View::Mask(f.dead()),
            _ if info.invariant => View::Same(V::Bool(m.slots[id as usize].val & 1 != 0)),
            _ => View::Mask(m.slots[id as usize].val),
        }
    }

    /// The lanes of `need` where node `id` equals `v` (a missing value equals nothing).
    fn lanes_equal<'p, F: Facts>(
        &'p self,
        id: NodeId,
        need: Mask,
        v: V<'_>,
        f: &mut F,
        m: &mut Memo<'p>,
    ) -> Mask {
        let live = self.present(id, need, f, m);
        let view = self.view(id, f, m);
        let mut out = 0;
        for l in lanes(live) {
            out |= u64::from(view.at(l) == v) << l;
        }
        out
    }

    /// The lanes of `need` where node `id` is present (not missing).
    fn present<'p, F: Facts>(
        &'p self,
        id: NodeId,
        need: Mask,
        f: &mut F,
        m: &mut Memo<'p>,
    ) -> Mask {
        let info = self.info[id as usize];
        self.fill(id, need, f, m);
        if info.boolean {
            return need;
        }
        at_lanes(m.slots[id as usize].val, info.invariant, need)
    }

    /// A boolean node at the lanes of `todo` (not yet computed): the lanes where it is true.
    fn compute_bool<'p, F: Facts>(
        &'p self,
        id: NodeId,
        todo: Mask,
        f: &mut F,
        m: &mut Memo<'p>,
    ) -> Mask {
        match &self.nodes[id as usize] {
            Node::Bool(b) => {
                if *b {
                    todo
                } else {
                    0
                }
            }
            Node::Registered => f.registered() & todo,
            Node::Dead => f.dead() & todo,
            Node::Flag(x) => f.flag(*x, todo),
            Node::RecordExists(x) => f.latest(*x, todo),
            // A boolean is never missing: no need to compute it.
            Node::Exists(x) if self.info[*x as usize].boolean => todo,
            Node::Exists(x) => self.present(*x, todo, f, m),
            Node::Coalesce(a, _) => self.truth(*a, todo, f, m),
            Node::Not(x) => {
                if self.info[*x as usize].boolean {
                    todo & !self.truth(*x, todo, f, m)
                } else {
                    // `not` of a non-boolean is false; only a `false` value turns true.
                    self.lanes_equal(*x, todo, V::Bool(false), f, m)
                }
            }
            Node::And(xs) => {
                let mut live = todo;
                for &x in xs {
                    live = self.truth(x, live, f, m);
                    if live == 0 {
                        break;
                    }
                }
                live
            }
            Node::Or(xs) => {
                let (mut out, mut rest) = (0, todo);
                for &x in xs {
                    let t = self.truth(x, rest, f, m);
                    out |= t;
                    rest &= !t;
                    if rest == 0 {
                        break;
                    }
                }
                out
            }
            Node::Cmp(op, a, b) => {
                // A missing side makes the comparison false: ask `b` only where `a` is present.
                let live = self.present(*a, todo, f, m);
                let live = self.present(*b, live, f, m);
                if live == 0 {
                    return 0;
                }
                compare_lanes(*op, self.view(*a, f, m), self.view(*b, f, m), live)
            }
            Node::In(x, list) => {
                let mut rest = self.present(*x, todo, f, m);
                let mut out = 0;
                for &item in list {
                    if rest == 0 {
                        break;
                    }
                    let live = self.present(item, rest, f, m);
                    out |=
                        compare_lanes(CmpOp::Eq, self.view(*x, f, m), self.view(item, f, m), live);
                    rest &= !out;
                }
                out
            }
            Node::Num(_)
            | Node::Str(_)
            | Node::Age
            | Node::Sex
            | Node::IndexDate(_)
            | Node::Record(..) => unreachable!("value node evaluated as a mask"),
        }
    }

    /// A value node at the lanes of `todo` (not yet computed), written to the slab at `base`:
    /// the lanes where it is present.
    fn compute_values<'p, F: Facts>(
        &'p self,
        id: NodeId,
        base: usize,
        todo: Mask,
        f: &mut F,
        m: &mut Memo<'p>,
    ) -> Mask {
        let constant = |m: &mut Memo<'p>, v: V<'p>| {
            for l in lanes(todo) {
                m.vals[base + l] = v;
            }
            todo
        };
        match &self.nodes[id as usize] {
            Node::Num(n) => constant(m, V::Num(*n)),
            Node::Str(s) => constant(m, V::Str(s)),
            Node::Sex => constant(m, V::Str(f.sex())),
            Node::Age => {
                for l in lanes(todo) {
                    m.vals[base + l] = V::Num(f.age(l) as f64);
                }
                todo
            }
            Node::IndexDate(k) => {
                for l in lanes(todo) {
                    m.vals[base + l] = V::Date(f.index_date(*k, l));
                }
                todo
            }
            Node::Record(x, field) => {
                let found = f.latest(*x, todo);
                let mut present = 0;
                for l in lanes(found) {
                    let r = f.record(*x, l);
                    let v = match field {
                        RecordField::Date => V::Date(r.day),
                        RecordField::Value if r.value.is_nan() => continue,
                        RecordField::Value => V::Num(r.value),
                        RecordField::Comparator => V::Str(r.comparator.as_str()),
                    };
                    present |= 1 << l;
                    m.vals[base + l] = v;
                }
                present
            }
            Node::Coalesce(a, b) => {
                let from_a = self.present(*a, todo, f, m);
                let from_b = self.present(*b, todo & !from_a, f, m);
                for (x, from) in [(*a, from_a), (*b, from_b)] {
                    for l in lanes(from) {
                        let v = self.view(x, f, m).at(l);
                        m.vals[base + l] = v;
                    }
                }
                from_a | from_b
            }
            _ => unreachable!("boolean node evaluated as a value"),
        }
    }
}
