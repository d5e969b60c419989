//! The plain why tree: every condition of a measure's rule, true or false for one patient at
//! one index date.
//!
//! The values come from the real evaluator, not from a second one: each true/false condition
//! of the measure's formulas becomes a "probe" measure (denominator = numerator = that
//! condition) of a derived plan with the same codelists and features, whose population is
//! everyone; one scan of the test's extract with that plan says, for every probe, whether the
//! patient is in its denominator, i.e. whether the condition holds. A patient with no
//! registration current at the index date is not evaluated at all, which the tree says.
//!
//! This is a stand-in: the full `rxscan why` (with the evidence rows behind each condition)
//! takes its place by replacing [`explain`], whose callers only render what it returns.

use std::collections::BTreeSet;
use std::path::Path;

use crate::dates::Day;
use crate::error::Error;
use crate::eval::EvalOptions;
use crate::plan::{Expr, Feature, Measure, Offset, Plan, RecordField, Window};
use crate::scan::{IndexDates, Scan};

/// A condition and whether it held; `None` when the patient was not evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhyNode {
    pub label: String,
    pub value: Option<bool>,
    pub children: Vec<WhyNode>,
}

/// Why one patient got what it got for one measure at one index date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhyTree {
    pub measure: String,
    pub patient: i64,
    pub index_date: Day,
    /// `false` when no registration was current at the index date (nothing evaluated).
    pub evaluated: bool,
    /// The denominator, then the numerator's own conditions.
    pub roots: Vec<WhyNode>,
}

impl WhyTree {
    /// The tree as indented text, a value then a condition on each line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if !self.evaluated {
            out.push_str(
                "  not evaluated: no registration current at the index date (start <= I < end)\n",
            );
        }
        for r in &self.roots {
            render(r, 1, &mut out);
        }
        out
    }
}

fn render(n: &WhyNode, depth: usize, out: &mut String) {
    let value = match n.value {
        Some(true) => "true ",
        Some(false) => "false",
        None => "  -  ",
    };
    out.push_str(&format!("{}{value} {}\n", "  ".repeat(depth), n.label));
    for c in &n.children {
        render(c, depth + 1, out);
    }
}

/// The why tree of each `(index date, patient id, measure index)` asked, over the extract in
/// `data` (loaded again with the derived plan), in the order asked.
pub fn explain(
    plan: &Plan,
    data: &Path,
    dates: &IndexDates,
    asks: &[(Day, i64, usize)],
) -> Result<Vec<WhyTree>, Error> {
    if asks.is_empty() {
        return Ok(Vec::new());
    }
    // Probe 0 is `true`: present exactly when the patient was evaluated.
    let mut probes = vec![Expr::Bool(true)];
    let measures: BTreeSet<usize> = asks.iter().map(|a| a.2).collect();
    let mut shapes = Vec::new();
    for &m in &measures {
        let measure = &plan.measures[m];
        let own = match &measure.numerator {
            // The compiler conjoins the denominator first (lower.rs); show the rest.
            Expr::And(v) if v.first() == Some(&measure.denominator) => {
                if v.len() == 2 {
                    v[1].clone()
                } else {
                    Expr::And(v[1..].to_vec())
                }
            }
            other => other.clone(),
        };
        let den = shape(&measure.denominator, &mut probes);
        let num = shape(&own, &mut probes);
        shapes.push((m, den, num));
    }
    let probe_plan = Plan {
        measures: probes
            .iter()
            .enumerate()
            .map(|(i, e)| Measure {
                id: format!("probe{i}"),
                primis: String::new(),
                title: String::new(),
                doc: String::new(),
                file: String::new(),
                denominator: e.clone(),
                numerator: e.clone(),
            })
            .collect(),
        population: Expr::Bool(true),
        composites: Vec::new(),
        ..plan.clone()
    };
    let scan = Scan::new(probe_plan, dates.clone());
    let extract = scan.load(data)?;
    let results = scan.evaluate(&extract, &EvalOptions { patient_rows: true })?;
    let held: BTreeSet<(Day, i64, usize)> = results
        .patient_rows
        .iter()
        .map(|r| {
            (
                results.index_dates[r.date as usize],
                results.patient_ids[r.patient as usize],
                r.measure as usize,
            )
        })
        .collect();
    Ok(asks
        .iter()
        .map(|&(day, patient, m)| {
            let evaluated = held.contains(&(day, patient, 0));
            let value = |probe: usize| evaluated.then(|| held.contains(&(day, patient, probe)));
            let (_, den, num) = shapes.iter().find(|s| s.0 == m).expect("shaped above");
            let mut den = fill(plan, den, day, &value);
            den.label = format!("denominator: {}", den.label);
            let mut num = fill(plan, num, day, &value);
            num.label = format!("numerator (besides the denominator): {}", num.label);
            WhyTree {
                measure: plan.measures[m].id.clone(),
                patient,
                index_date: day,
                evaluated,
                roots: vec![den, num],
            }
        })
        .collect())
}

/// A node before evaluation: what it says (a connective, or a condition written out at the
/// index date), its probe, its children.
struct Shape {
    label: Label,
    probe: usize,
    children: Vec<Shape>,
}

enum Label {
    Fixed(&'static str),
    Condition(Expr),
}

fn fill(plan: &Plan, s: &Shape, day: Day, value: &dyn Fn(usize) -> Option<bool>) -> WhyNode {
    WhyNode {
        label: match &s.label {
            Label::Fixed(t) => t.to_string(),
            Label::Condition(e) => text(plan, e, Some(day)),
        },
        value: value(s.probe),
        children: s
            .children
            .iter()
            .map(|c| fill(plan, c, day, value))
            .collect(),
    }
}

/// The tree of the true/false conditions of `e` (a condition), each with its probe.
fn shape(e: &Expr, probes: &mut Vec<Expr>) -> Shape {
    let probe = probes.len();
    probes.push(e.clone());
    let (label, children) = match e {
        Expr::And(v) => (Label::Fixed("all of:"), v.iter().collect()),
        Expr::Or(v) => (Label::Fixed("any of:"), v.iter().collect()),
        Expr::Not(x) if matches!(**x, Expr::And(_) | Expr::Or(_)) => {
            (Label::Fixed("not:"), vec![&**x])
        }
        _ => (Label::Condition(e.clone()), Vec::new()),
    };
    Shape {
        label,
        probe,
        children: children.into_iter().map(|c| shape(c, probes)).collect(),
    }
}

/// An expression as the rule language writes it (definitions expanded); with an index date,
/// each window is followed by the days it spans at that date.
pub fn text(plan: &Plan, e: &Expr, at: Option<Day>) -> String {
    let t = |x: &Expr| text(plan, x, at);
    match e {
        Expr::Bool(b) => b.to_string(),
        Expr::Num(n) => n.to_string(),
        Expr::Str(s) => format!("{s:?}"),
        Expr::Age => "age".into(),
        Expr::Sex => "sex".into(),
        Expr::Registered => "registered".into(),
        Expr::Dead => "dead".into(),
        Expr::IndexDate(o) => offset(*o),
        Expr::Flag(f) | Expr::RecordExists(f) => {
            let q = feature(plan, &plan.features[*f], at);
            match e {
                Expr::RecordExists(_) => format!("exists({q})"),
                _ => q,
            }
        }
        Expr::Record(f, field) => {
            let field = match field {
                RecordField::Date => "date",
                RecordField::Value => "value",
                RecordField::Comparator => "comparator",
            };
            format!("{}.{field}", feature(plan, &plan.features[*f], at))
        }
        Expr::Exists(x) => format!("exists({})", t(x)),
        Expr::Coalesce(a, b) => format!("coalesce({}, {})", t(a), t(b)),
        Expr::Not(x) => format!("not {}", t(x)),
        Expr::And(v) | Expr::Or(v) => {
            let op = if matches!(e, Expr::And(_)) {
                " and "
            } else {
                " or "
            };
            let parts: Vec<String> = v.iter().map(|x| format!("({})", t(x))).collect();
            parts.join(op)
        }
        Expr::Cmp(op, a, b) => format!("{} {} {}", t(a), op.symbol(), t(b)),
        Expr::In(x, list) => {
            let items: Vec<String> = list.iter().map(t).collect();
            format!("{} in ({})", t(x), items.join(", "))
        }
    }
}

fn feature(plan: &Plan, f: &Feature, at: Option<Day>) -> String {
    let window_text = |w: Window| window_text(w, at);
    let list = |i: usize| &plan.codelists[i];
    match *f {
        Feature::Has { codelist, window } => {
            let c = list(codelist);
            format!(
                "{}.has({}, {})",
                c.table.name(),
                c.name,
                window_text(window)
            )
        }
        Feature::Latest { codelist, window } => {
            let c = list(codelist);
            format!(
                "{}.latest({}, {})",
                c.table.name(),
                c.name,
                window_text(window)
            )
        }
        Feature::Within {
            a,
            b,
            max_gap_days,
            window,
        } => format!(
            "{}.within({}, {}, {max_gap_days} days, {})",
            list(a).table.name(),
            list(a).name,
            list(b).name,
            window_text(window)
        ),
    }
}

fn window_text(w: Window, at: Option<Day>) -> String {
    let end = |o: Option<Offset>| o.map_or_else(|| "..".to_string(), offset);
    let days = at.and_then(|day| {
        let show = |o: Option<Offset>| match o {
            Some(o) => o.at(day).map(crate::dates::format_iso),
            None => Some("..".to_string()),
        };
        Some(format!(" = [{}, {}]", show(w.start)?, show(w.end)?))
    });
    format!(
        "[{}, {}]{}",
        end(w.start),
        end(w.end),
        days.unwrap_or_default()
    )
}

fn offset(o: Offset) -> String {
    let mut s = "index".to_string();
    for (n, unit) in [(o.months, "months"), (o.days, "days")] {
        if n != 0 {
            let sign = if n < 0 { '-' } else { '+' };
            s += &format!(" {sign} {} {unit}", n.unsigned_abs());
        }
    }
    s
}
