//! A compiled formula printed back in the rule language, with the pack's definition names in
//! place of what they inline: `not gastroprotected`, `medications.has(ppi, w3)`.
//!
//! The plan inlines every `define`; the compiler keeps what each name stood for
//! ([`Plan::definitions`]), so a sub-formula equal to a definition prints as its name. This
//! is how evidence and `rxscan explain` show "the condition as written in the rule" without
//! the plan carrying source text (a SQL backend has no use for it). Parameters are inlined
//! values and print as such (`45`, not `egfr_threshold`).

use crate::plan::{Defined, Expr, Feature, Offset, Plan, RecordField, Window};

/// Names of the pack's definitions, looked up by what they stand for.
pub struct Names<'p> {
    plan: &'p Plan,
}

impl<'p> Names<'p> {
    pub fn new(plan: &'p Plan) -> Names<'p> {
        Names { plan }
    }

    /// The definition a formula is, if any (the first by name when several are equal).
    pub fn of_formula(&self, e: &Expr) -> Option<&'p str> {
        self.plan.definitions.iter().find_map(|d| match &d.value {
            Defined::Formula(x) if x == e => Some(d.name.as_str()),
            _ => None,
        })
    }

    fn of_record(&self, f: usize) -> Option<&'p str> {
        self.plan.definitions.iter().find_map(|d| match d.value {
            Defined::Record(x) if x == f => Some(d.name.as_str()),
            _ => None,
        })
    }

    fn of_window(&self, w: Window) -> Option<&'p str> {
        self.plan.definitions.iter().find_map(|d| match d.value {
            Defined::Window(x) if x == w => Some(d.name.as_str()),
            _ => None,
        })
    }

    /// The operands of an `and`/`or` as written: the compiler flattens `d and x` where
    /// `define d = a and b` into `a and b and x`, so a run of operands equal to a definition
    /// is put back together (`d`, then `x`). Other formulas: empty.
    pub fn group(&self, e: &Expr) -> Vec<Expr> {
        type Make = fn(Vec<Expr>) -> Expr;
        let (xs, make): (&[Expr], Make) = match e {
            Expr::And(xs) => (xs, Expr::And),
            Expr::Or(xs) => (xs, Expr::Or),
            _ => return Vec::new(),
        };
        let mut out = Vec::new();
        let mut i = 0;
        while i < xs.len() {
            // The longest run from i (shorter than the whole) that is a definition.
            let run = (i + 2..=xs.len())
                .rev()
                .filter(|&j| j - i < xs.len())
                .find(|&j| self.of_formula(&make(xs[i..j].to_vec())).is_some());
            match run {
                Some(j) => {
                    out.push(make(xs[i..j].to_vec()));
                    i = j;
                }
                None => {
                    out.push(xs[i].clone());
                    i += 1;
                }
            }
        }
        out
    }

    /// `e` as written: its sub-formulas that are definitions by their names (`e` itself is
    /// printed in full even when it is one).
    pub fn body(&self, e: &Expr) -> String {
        self.print(e, false)
    }

    /// `e` by its definition name when it has one, else in full.
    pub fn text(&self, e: &Expr) -> String {
        self.print(e, true)
    }

    /// A window as written: its name, or `[index - 3 months, index]`.
    pub fn window(&self, w: Window) -> String {
        match self.of_window(w) {
            Some(n) => n.to_string(),
            None => self.window_body(w),
        }
    }

    /// The definitions `e` uses, directly or through other definitions, each once in order of
    /// first use, with what each stands for as written; then the codelists its record queries
    /// read (indexes into [`Plan::codelists`]).
    pub fn used(&self, e: &Expr) -> (Vec<(String, String)>, Vec<usize>) {
        let mut defs = Vec::new();
        let mut lists = Vec::new();
        self.collect(e, true, &mut defs, &mut lists);
        (defs, lists)
    }

    fn collect(
        &self,
        e: &Expr,
        top: bool,
        defs: &mut Vec<(String, String)>,
        lists: &mut Vec<usize>,
    ) {
        let add = |defs: &mut Vec<(String, String)>, name: &str, body: String| {
            if defs.iter().any(|(n, _)| n == name) {
                return false;
            }
            defs.push((name.to_string(), body));
            true
        };
        if !top {
            if let Some(n) = self.of_formula(e) {
                if add(defs, n, self.body(e)) {
                    self.collect(e, true, defs, lists);
                }
                return;
            }
        }
        match e {
            Expr::Flag(f) | Expr::Record(f, _) | Expr::RecordExists(f) => {
                let feature = self.plan.features[*f];
                if let (Feature::Latest { .. }, Some(n)) = (feature, self.of_record(*f)) {
                    add(defs, n, self.feature_body(*f));
                }
                let w = feature.window();
                if let Some(n) = self.of_window(w) {
                    add(defs, n, self.window_body(w));
                }
                let used: &[usize] = match &feature {
                    Feature::Has { codelist, .. } | Feature::Latest { codelist, .. } => {
                        std::slice::from_ref(codelist)
                    }
                    Feature::Within { a, b, .. } => &[*a, *b],
                };
                for &c in used {
                    if !lists.contains(&c) {
                        lists.push(c);
                    }
                }
            }
            Expr::Exists(x) | Expr::Not(x) => self.collect(x, false, defs, lists),
            Expr::Coalesce(a, b) | Expr::Cmp(_, a, b) => {
                self.collect(a, false, defs, lists);
                self.collect(b, false, defs, lists);
            }
            Expr::And(_) | Expr::Or(_) => self
                .group(e)
                .iter()
                .for_each(|x| self.collect(x, false, defs, lists)),
            Expr::In(x, xs) => {
                self.collect(x, false, defs, lists);
                xs.iter().for_each(|x| self.collect(x, false, defs, lists));
            }
            _ => {}
        }
    }

    fn window_body(&self, w: Window) -> String {
        let end = |o: Option<Offset>| o.map_or_else(|| "..".to_string(), offset);
        format!("[{}, {}]", end(w.start), end(w.end))
    }

    /// A `latest` feature in full, even when a definition names it.
    fn feature_body(&self, f: usize) -> String {
        match self.plan.features[f] {
            Feature::Latest { codelist, window } => {
                let list = &self.plan.codelists[codelist];
                format!(
                    "{}.latest({}, {})",
                    list.table.name(),
                    list.name,
                    self.window(window)
                )
            }
            _ => self.feature(f),
        }
    }

    /// A feature as written: `medications.has(nsaid, w3)`.
    pub fn feature(&self, f: usize) -> String {
        let plan = self.plan;
        let list = |c: usize| plan.codelists[c].name.as_str();
        let table = |c: usize| plan.codelists[c].table.name();
        match plan.features[f] {
            Feature::Has { codelist, window } => format!(
                "{}.has({}, {})",
                table(codelist),
                list(codelist),
                self.window(window)
            ),
            Feature::Latest { codelist, window } => match self.of_record(f) {
                Some(n) => n.to_string(),
                None => format!(
                    "{}.latest({}, {})",
                    table(codelist),
                    list(codelist),
                    self.window(window)
                ),
            },
            Feature::Within {
                a,
                b,
                max_gap_days,
                window,
            } => format!(
                "{}.within({}, {}, {max_gap_days} days, {})",
                table(a),
                list(a),
                list(b),
                self.window(window)
            ),
        }
    }

    fn print(&self, e: &Expr, named: bool) -> String {
        if named {
            if let Some(n) = self.of_formula(e) {
                return n.to_string();
            }
        }
        let sub = |x: &Expr, min: u8| {
            let t = self.print(x, true);
            if self.of_formula(x).is_none() && prec(x) < min {
                format!("({t})")
            } else {
                t
            }
        };
        match e {
            Expr::Bool(b) => b.to_string(),
            Expr::Num(n) => number(*n),
            Expr::Str(s) => format!("{s:?}"),
            Expr::Age => "age".into(),
            Expr::Sex => "sex".into(),
            Expr::Registered => "registered".into(),
            Expr::Dead => "dead".into(),
            Expr::IndexDate(o) => offset(*o),
            Expr::Flag(f) => self.feature(*f),
            Expr::Record(f, field) => {
                let field = match field {
                    RecordField::Date => "date",
                    RecordField::Value => "value",
                    RecordField::Comparator => "comparator",
                };
                format!("{}.{field}", self.feature(*f))
            }
            Expr::RecordExists(f) => format!("exists({})", self.feature(*f)),
            Expr::Exists(x) => format!("exists({})", self.print(x, true)),
            Expr::Coalesce(a, b) => {
                format!("coalesce({}, {})", self.print(a, true), self.print(b, true))
            }
            Expr::Not(x) => match &**x {
                Expr::In(v, items) if self.of_formula(x).is_none() => {
                    format!("{} not in ({})", sub(v, 5), self.list(items))
                }
                _ => format!("not {}", sub(x, 5)),
            },
            Expr::And(_) => join(self.group(e).iter().map(|x| sub(x, 2)), " and "),
            Expr::Or(_) => join(self.group(e).iter().map(|x| sub(x, 1)), " or "),
            Expr::Cmp(op, a, b) => format!("{} {} {}", sub(a, 5), op.symbol(), sub(b, 5)),
            Expr::In(v, items) => format!("{} in ({})", sub(v, 5), self.list(items)),
        }
    }

    fn list(&self, items: &[Expr]) -> String {
        join(items.iter().map(|x| self.print(x, true)), ", ")
    }
}

/// Binding strength: `or` 1, `and` 2, `not` 3, comparisons 4, everything else 5.
fn prec(e: &Expr) -> u8 {
    match e {
        Expr::Or(_) => 1,
        Expr::And(_) => 2,
        Expr::Not(_) => 3,
        Expr::Cmp(..) | Expr::In(..) => 4,
        _ => 5,
    }
}

fn join(parts: impl Iterator<Item = String>, sep: &str) -> String {
    parts.collect::<Vec<_>>().join(sep)
}

/// A number as a rule writes it: `45`, `1.5`.
pub fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// `index`, `index - 3 months`, `index - 15 months + 2 days`.
fn offset(o: Offset) -> String {
    let mut s = "index".to_string();
    let mut part = |n: i32, unit: &str| {
        if n != 0 {
            let sign = if n < 0 { '-' } else { '+' };
            let plural = if n.abs() == 1 { "" } else { "s" };
            s += &format!(" {sign} {} {unit}{plural}", n.abs());
        }
    };
    part(o.months, "month");
    part(o.days, "day");
    s
}
