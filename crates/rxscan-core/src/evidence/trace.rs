//! The per-patient trace: one patient at one index date, every node of a formula with its
//! value and the extract rows behind it.
//!
//! This is a plain interpreter of the plan over one patient's rows (as the test oracle in
//! `tests/reference/` is), not the lane evaluator: it runs only for the few patients someone
//! asks about (flagged patients after the counting pass, or `rxscan why`), so it can afford to
//! keep every row it looks at. Its verdicts must equal the fast evaluator's; the tests check
//! that on the boundary fixtures and on synthetic extracts.
//!
//! The rows behind a node ([`Node::deciding_rows`]) are the rows that made it take its value:
//! for a record query the matching rows in its window (`has`), the pairs in reach of each
//! other (`within`) or the one latest row (`latest`), kept on the query's node; for
//! `and`/`or`/`not` the rows of the children that decided it (a true `and`: all; a false
//! `and`: its false children; `or` likewise; `not`: its child's); for a comparison or a
//! function, the rows its operands read. Only record queries store rows (their strings
//! shared), so a trace of a long-treated patient stays small. A record query that found nothing
//! says what it searched (codelist and window) and, when the rows before the window were
//! loaded (`history`), the last matching row before it.

use std::sync::Arc;

use super::text::Names;
use crate::dates::{self, Day};
use crate::eval::EvalError;
use crate::extract::{Comparator, EventTable, Extract, History, NO_DATE};
use crate::plan::{CmpOp, Expr, Feature, Plan, RecordField, Table, Window};

/// A value in a trace.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Num(f64),
    Str(String),
    Date(Day),
    /// No record, or no `numeric_value`.
    Missing,
}

impl Value {
    pub fn holds(&self) -> bool {
        matches!(self, Value::Bool(true))
    }
}

/// One extract row a condition read, as the input had it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub table: Table,
    /// The codelist it matched.
    pub codelist: Arc<str>,
    pub code: Arc<str>,
    /// The codelist's term for the code, when it has one.
    pub term: Option<Arc<str>>,
    pub date: Day,
    /// `numeric_value` (clinical events only).
    pub value: Option<f64>,
    /// As written (empty when none).
    pub comparator: &'static str,
    /// The row's position in the extract's table (identity, for deduplication).
    pub(crate) at: usize,
}

/// What a record query searched: a codelist (two for `within`, joined by `+`) in a window
/// (`None` for an open end).
#[derive(Debug, Clone, PartialEq)]
pub struct Searched {
    pub codelist: String,
    pub from: Option<Day>,
    pub to: Option<Day>,
}

/// One node of a formula at one patient and index date.
#[derive(Debug, Clone)]
pub struct Node {
    /// The node as written in the rule: `name = body` for a definition, else the formula.
    pub text: Arc<str>,
    pub value: Value,
    /// The rows a record query matched (empty on other nodes: see [`Node::deciding_rows`]).
    pub rows: Vec<Row>,
    pub searched: Option<Searched>,
    pub last_before: Option<Row>,
    pub children: Vec<Node>,
    /// The children that decided this node's value (see the module doc), by position.
    pub deciding: Vec<usize>,
}

impl Node {
    /// Whether the node is a condition (true/false) rather than a value.
    pub fn is_condition(&self) -> bool {
        matches!(self.value, Value::Bool(_))
    }

    /// The rows that made this node's value (see the module doc), each once.
    pub fn deciding_rows(&self) -> Vec<&Row> {
        let mut out: Vec<&Row> = Vec::new();
        self.add_deciding(&mut out);
        out
    }

    fn add_deciding<'n>(&'n self, out: &mut Vec<&'n Row>) {
        for r in &self.rows {
            if !out.iter().any(|x| x.table == r.table && x.at == r.at) {
                out.push(r);
            }
        }
        for &i in &self.deciding {
            self.children[i].add_deciding(out);
        }
    }

    /// This node and the nodes that decided it, recursively, parents first: the conditions
    /// that made a verdict (a branch that did not matter is left out).
    pub fn walk_deciding(&self) -> Vec<&Node> {
        let mut out = vec![self];
        for &i in &self.deciding {
            out.extend(self.children[i].walk_deciding());
        }
        out
    }

    /// This node and every node below it, parents first.
    pub fn walk(&self) -> Vec<&Node> {
        let mut out = vec![self];
        for c in &self.children {
            out.extend(c.walk());
        }
        out
    }
}

/// A formula's shape and text, worked out once per plan (the text lookups are not per
/// patient).
pub(crate) struct Template {
    expr: Expr,
    text: Arc<str>,
    children: Vec<Template>,
}

impl Template {
    pub(crate) fn new(names: &Names, e: &Expr) -> Template {
        let text: Arc<str> = match names.of_formula(e) {
            Some(n) => format!("{n} = {}", names.body(e)).into(),
            None => names.body(e).into(),
        };
        let grouped = names.group(e);
        let kids: Vec<&Expr> = match e {
            Expr::Exists(x) | Expr::Not(x) => vec![x],
            Expr::Coalesce(a, b) | Expr::Cmp(_, a, b) => vec![a, b],
            Expr::And(_) | Expr::Or(_) => grouped.iter().collect(),
            Expr::In(x, xs) => std::iter::once(&**x).chain(xs.iter()).collect(),
            _ => vec![],
        };
        Template {
            expr: e.clone(),
            text,
            children: kids.into_iter().map(|k| Template::new(names, k)).collect(),
        }
    }
}

/// Everything about the plan and extract that does not depend on the patient.
pub(crate) struct Context<'a> {
    pub plan: &'a Plan,
    pub extract: &'a Extract,
    /// Which rows before the windows were loaded (so `last_before` is the input's).
    pub history: &'a History,
    /// Per codelist: for each of its table's distinct codes, its position in the codelist.
    members: Vec<Vec<Option<u32>>>,
    /// Per table: the distinct codes, shared by every row that names them.
    codes: [Vec<Arc<str>>; 2],
    /// Per codelist: its name, and the term of each of its codes (empty: none).
    lists: Vec<(Arc<str>, Terms)>,
    /// Per table: its rows set apart as history ([`EventTable::earlier`]), grouped by patient
    /// for the patients this context traces.
    earlier: [Option<EventTable>; 2],
}

impl<'a> Context<'a> {
    /// `wanted`: the patients (by index) that will be traced, whose rows set apart as history
    /// are grouped (all when `None`).
    pub fn new(
        plan: &'a Plan,
        extract: &'a Extract,
        history: &'a History,
        wanted: Option<&[bool]>,
    ) -> Context<'a> {
        // Each codelist's codes looked up among the table's (a table has about as many
        // distinct codes as all its codelists together, so this is linear in those).
        let ids = |t: Table| -> rustc_hash::FxHashMap<&str, usize> {
            let codes = &extract.table(t).codes;
            codes
                .iter()
                .enumerate()
                .map(|(i, c)| (c.as_str(), i))
                .collect()
        };
        let ids = [ids(Table::Medications), ids(Table::ClinicalEvents)];
        let members = plan
            .codelists
            .iter()
            .map(|c| {
                let mut member = vec![None; extract.table(c.table).codes.len()];
                for (at, code) in c.codes.iter().enumerate() {
                    if let Some(&id) = ids[c.table as usize].get(code.as_str()) {
                        member[id] = Some(at as u32);
                    }
                }
                member
            })
            .collect();
        let shared = |t: Table| {
            extract
                .table(t)
                .codes
                .iter()
                .map(|c| c.as_str().into())
                .collect()
        };
        let lists = plan
            .codelists
            .iter()
            .map(|c| {
                let terms = c
                    .terms
                    .iter()
                    .map(|t| Some(t.as_str().into()).filter(|t: &Arc<str>| !t.is_empty()))
                    .collect();
                (c.name.as_str().into(), terms)
            })
            .collect();
        let all;
        let wanted = match wanted {
            Some(w) => w,
            None => {
                all = vec![true; extract.patient_ids.len()];
                &all[..]
            }
        };
        let earlier = |t: Table| {
            let table = extract.table(t);
            let rows = table.earlier.as_deref()?;
            Some(rows.of_patients(wanted, &table.codes))
        };
        Context {
            plan,
            extract,
            history,
            members,
            codes: [shared(Table::Medications), shared(Table::ClinicalEvents)],
            lists,
            earlier: [earlier(Table::Medications), earlier(Table::ClinicalEvents)],
        }
    }

    /// The rows of patient `p` matching codelist `c`, in input order.
    fn matching(&self, p: usize, c: usize) -> impl Iterator<Item = usize> + '_ {
        self.matching_in(self.extract.table(self.plan.codelists[c].table), p, c)
    }

    /// [`Context::matching`] in table `t` (a table, or its rows set apart as history).
    fn matching_in<'t>(
        &'t self,
        t: &'t EventTable,
        p: usize,
        c: usize,
    ) -> impl Iterator<Item = usize> + 't {
        t.rows(p)
            .filter(move |&i| self.members[c][t.code[i] as usize].is_some())
    }

    /// The table's rows set apart as history for codelist `c`'s table, if any were loaded.
    fn earlier(&self, c: usize) -> Option<&EventTable> {
        self.earlier[self.plan.codelists[c].table as usize].as_ref()
    }

    fn row(&self, c: usize, i: usize) -> Row {
        self.row_in(self.extract.table(self.plan.codelists[c].table), c, i)
    }

    /// Row `i` of table `t` (a table, or its rows set apart as history), matched by codelist
    /// `c`.
    fn row_in(&self, t: &EventTable, c: usize, i: usize) -> Row {
        let table = self.plan.codelists[c].table;
        let code = t.code[i] as usize;
        let (name, terms) = &self.lists[c];
        let at = self.members[c][code].expect("a matching row") as usize;
        Row {
            table,
            codelist: name.clone(),
            code: self.codes[table as usize][code].clone(),
            term: terms.get(at).cloned().flatten(),
            date: t.day[i],
            // Medications have neither column (the vectors are empty).
            value: t.value.get(i).copied().filter(|v| !v.is_nan()),
            comparator: Comparator::from_u8(t.comparator.get(i).copied().unwrap_or(0)).as_str(),
            at: i,
        }
    }

    fn day(&self, c: usize, i: usize) -> Day {
        self.extract.table(self.plan.codelists[c].table).day[i]
    }
}

/// A codelist's terms, by the position of the code in the list.
type Terms = Vec<Option<Arc<str>>>;

/// One patient at one index date.
pub(crate) struct Patient<'c, 'a> {
    pub cx: &'c Context<'a>,
    pub p: usize,
    pub index: Day,
    /// Evaluate every operand of `and`/`or` (`rxscan why`); otherwise stop at the first
    /// operand that decides (a false one for `and`, a true one for `or`): evidence names what
    /// decided a verdict, and a branch like `false and in_other_denominator` costs nothing.
    pub full: bool,
}

/// The result of a record query.
struct Query {
    rows: Vec<Row>,
    searched: Searched,
    last_before: Option<Row>,
}

impl Patient<'_, '_> {
    /// Whether a registration is current at the index date (start ≤ I < end).
    pub fn registered(&self) -> bool {
        let r = &self.cx.extract.registrations;
        (r.offsets[self.p]..r.offsets[self.p + 1])
            .any(|i| r.start[i] <= self.index && (r.end[i] == NO_DATE || self.index < r.end[i]))
    }

    fn bounds(&self, w: Window) -> Result<(Day, Day), EvalError> {
        w.bounds_at(self.index)
            .ok_or_else(|| impossible(self.index, w))
    }

    fn searched(&self, codelist: String, w: Window, (lo, hi): (Day, Day)) -> Searched {
        Searched {
            codelist,
            from: w.start.map(|_| lo),
            to: w.end.map(|_| hi),
        }
    }

    /// The last row of `lists` dated before `lo` (greatest date, ties to the first in input
    /// order), when the latest rows before the window were loaded for feature `f`: among the
    /// rows kept for counting from the start of the feature's span on (all of its rows from
    /// there are kept), or else among those set apart, the latest rows before the span
    /// ([`crate::extract::KeepCode::latest_before`]).
    fn last_before(&self, f: usize, lists: &[usize], lo: Day) -> Option<Row> {
        if !self.cx.history.of(f) {
            return None;
        }
        let from = self.cx.plan.features[f]
            .span(self.cx.extract.index_date_range)
            .0;
        self.last_in(lists, from..lo, false)
            .or_else(|| self.last_in(lists, Day::MIN..from.min(lo), true))
    }

    /// The last row of `lists` dated in `days`, in the rows kept for counting or in those set
    /// apart.
    fn last_in(&self, lists: &[usize], days: std::ops::Range<Day>, earlier: bool) -> Option<Row> {
        let mut best: Option<(Day, usize, usize, &EventTable)> = None;
        for &c in lists {
            let t = match earlier {
                false => self.cx.extract.table(self.cx.plan.codelists[c].table),
                true => match self.cx.earlier(c) {
                    Some(t) => t,
                    None => continue,
                },
            };
            for i in self.cx.matching_in(t, self.p, c) {
                let d = t.day[i];
                if days.contains(&d)
                    && best.is_none_or(|(bd, bi, ..)| d > bd || (d == bd && i < bi))
                {
                    best = Some((d, i, c, t));
                }
            }
        }
        best.map(|(_, i, c, t)| {
            let mut row = self.cx.row_in(t, c, i);
            if earlier {
                // A position in another table: never taken for one of the table's rows.
                row.at |= 1 << (usize::BITS - 1);
            }
            row
        })
    }

    fn query(&self, f: usize) -> Result<Query, EvalError> {
        let plan = self.cx.plan;
        let feature = plan.features[f];
        let w = feature.window();
        let (lo, hi) = self.bounds(w)?;
        let inside = |c: usize| {
            self.cx
                .matching(self.p, c)
                .filter(move |&i| (lo..=hi).contains(&self.cx.day(c, i)))
        };
        let (rows, lists): (Vec<Row>, Vec<usize>) = match feature {
            Feature::Has { codelist, .. } => (
                inside(codelist).map(|i| self.cx.row(codelist, i)).collect(),
                vec![codelist],
            ),
            Feature::Latest { codelist, .. } => {
                let mut best: Option<usize> = None;
                for i in inside(codelist) {
                    if best.is_none_or(|b| self.cx.day(codelist, i) > self.cx.day(codelist, b)) {
                        best = Some(i);
                    }
                }
                (
                    best.map(|i| self.cx.row(codelist, i)).into_iter().collect(),
                    vec![codelist],
                )
            }
            Feature::Within {
                a, b, max_gap_days, ..
            } => {
                let xs: Vec<usize> = inside(a).collect();
                let ys: Vec<usize> = inside(b).collect();
                let near = |i: usize, ci: usize, others: &[usize], co: usize| {
                    let d = self.cx.day(ci, i);
                    others
                        .iter()
                        .any(|&j| (d - self.cx.day(co, j)).abs() <= max_gap_days)
                };
                let mut rows: Vec<Row> = xs
                    .iter()
                    .filter(|&&i| near(i, a, &ys, b))
                    .map(|&i| self.cx.row(a, i))
                    .collect();
                for &j in ys.iter().filter(|&&j| near(j, b, &xs, a)) {
                    let same_row = plan.codelists[a].table == plan.codelists[b].table
                        && rows.iter().any(|r| r.at == j);
                    if !same_row {
                        rows.push(self.cx.row(b, j));
                    }
                }
                (rows, vec![a, b])
            }
        };
        let names: Vec<&str> = lists
            .iter()
            .map(|&c| plan.codelists[c].name.as_str())
            .collect();
        let last_before = if rows.is_empty() {
            self.last_before(f, &lists, lo)
        } else {
            None
        };
        Ok(Query {
            rows,
            searched: self.searched(names.join(" + "), w, (lo, hi)),
            last_before,
        })
    }

    /// Evaluate a template into a traced node.
    pub fn node(&self, t: &Template) -> Result<Node, EvalError> {
        let ex = self.cx.extract;
        let mut node = Node {
            text: t.text.clone(),
            value: Value::Missing,
            rows: Vec::new(),
            searched: None,
            last_before: None,
            children: Vec::new(),
            deciding: Vec::new(),
        };
        let leaf = |node: &mut Node, q: Query| {
            node.rows = q.rows;
            node.searched = Some(q.searched);
            node.last_before = q.last_before;
        };
        match &t.expr {
            Expr::Bool(b) => node.value = Value::Bool(*b),
            Expr::Num(n) => node.value = Value::Num(*n),
            Expr::Str(s) => node.value = Value::Str(s.clone()),
            Expr::Age => {
                node.value =
                    Value::Num(dates::age_years(ex.date_of_birth[self.p], self.index) as f64)
            }
            Expr::Sex => node.value = Value::Str(ex.sex[self.p].letter().to_string()),
            Expr::Registered => node.value = Value::Bool(self.registered()),
            Expr::Dead => {
                let dod = ex.date_of_death[self.p];
                node.value = Value::Bool(dod != NO_DATE && dod <= self.index)
            }
            Expr::IndexDate(o) => {
                let d = o.at(self.index).ok_or_else(|| {
                    impossible(
                        self.index,
                        Window {
                            start: Some(*o),
                            end: None,
                        },
                    )
                })?;
                node.value = Value::Date(d)
            }
            Expr::Flag(f) => {
                let q = self.query(*f)?;
                node.value = Value::Bool(!q.rows.is_empty());
                leaf(&mut node, q);
            }
            Expr::RecordExists(f) => {
                let q = self.query(*f)?;
                node.value = Value::Bool(!q.rows.is_empty());
                leaf(&mut node, q);
            }
            Expr::Record(f, field) => {
                let q = self.query(*f)?;
                node.value = match q.rows.first() {
                    None => Value::Missing,
                    Some(r) => match field {
                        RecordField::Date => Value::Date(r.date),
                        RecordField::Value => r.value.map_or(Value::Missing, Value::Num),
                        RecordField::Comparator => Value::Str(r.comparator.to_string()),
                    },
                };
                leaf(&mut node, q);
            }
            Expr::And(_) | Expr::Or(_) if !self.full => {
                let stop_at = !matches!(t.expr, Expr::And(_));
                for c in &t.children {
                    let kid = self.node(c)?;
                    let decided = kid.value.holds() == stop_at;
                    node.children.push(kid);
                    if decided {
                        break;
                    }
                }
                self.combine(&t.expr, &mut node);
            }
            _ => {
                node.children = t
                    .children
                    .iter()
                    .map(|c| self.node(c))
                    .collect::<Result<_, _>>()?;
                self.combine(&t.expr, &mut node);
            }
        }
        Ok(node)
    }

    /// The value and rows of a node from its children's.
    fn combine(&self, e: &Expr, node: &mut Node) {
        let kids = &node.children;
        let (value, deciding): (Value, Vec<usize>) = match e {
            Expr::Exists(_) => (Value::Bool(kids[0].value != Value::Missing), vec![0]),
            Expr::Coalesce(..) => match kids[0].value {
                Value::Missing => (kids[1].value.clone(), vec![0, 1]),
                ref v => (v.clone(), vec![0]),
            },
            Expr::Not(_) => (Value::Bool(!kids[0].value.holds()), vec![0]),
            Expr::And(_) | Expr::Or(_) => {
                let is_and = matches!(e, Expr::And(_));
                let all = kids.iter().filter(|k| k.value.holds()).count() == kids.len();
                let any = kids.iter().any(|k| k.value.holds());
                let v = if is_and { all } else { any };
                // A true `and` / false `or`: every child decided it; otherwise the children
                // with the node's own value did.
                let deciding = (0..kids.len())
                    .filter(|&i| v == is_and || kids[i].value.holds() == v)
                    .collect();
                (Value::Bool(v), deciding)
            }
            Expr::Cmp(op, ..) => (
                Value::Bool(compare(*op, &kids[0].value, &kids[1].value)),
                vec![0, 1],
            ),
            Expr::In(..) => {
                let found = kids[1..]
                    .iter()
                    .any(|k| compare(CmpOp::Eq, &kids[0].value, &k.value));
                (Value::Bool(found), (0..kids.len()).collect())
            }
            _ => unreachable!("leaves are evaluated in `node`"),
        };
        // What `not has(...)` or `exists(latest...)` searched is its child's search.
        if let (Expr::Not(_) | Expr::Exists(_), [k]) = (e, &kids[..]) {
            node.searched = k.searched.clone();
            node.last_before = k.last_before.clone();
        }
        node.value = value;
        node.deciding = deciding;
    }
}

fn impossible(index: Day, w: Window) -> EvalError {
    let end = [w.start, w.end]
        .into_iter()
        .flatten()
        .find(|o| o.at(index).is_none());
    let o = end.unwrap_or(crate::plan::Offset { months: 0, days: 0 });
    EvalError::ImpossibleDate {
        date: dates::format_iso(index),
        sign: if o.months < 0 { '-' } else { '+' },
        months: o.months.abs(),
    }
}

/// The plan's comparison: a missing side is false; values of one type (a compiled plan only
/// compares those).
fn compare(op: CmpOp, a: &Value, b: &Value) -> bool {
    use std::cmp::Ordering;
    let ord = match (a, b) {
        (Value::Num(x), Value::Num(y)) => x.partial_cmp(y),
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Date(x), Value::Date(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    };
    let Some(ord) = ord else { return false };
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    }
}
