//! `rxscan why`: one patient at one index date as a tree of conditions, each with true/false
//! and the rows behind it, for the population and each measure's denominator and numerator
//! (for patients on a list and, as often asked, for patients not on it).
//!
//! A definition met a second time (`base_population` in every measure) is shown once in full
//! and then on one line. Rows are listed under the record query that read them, with what the
//! query searched and, when it found nothing, the last matching row before its window.

use std::collections::HashSet;

use crate::dates::{format_iso, Day};
use crate::evidence::{
    measures_named, number, EvidenceError, Node, PatientTrace, Row, Searched, Tracer, Value,
};
use crate::extract::Extract;
use crate::plan::Plan;
use crate::Scan;

/// `rxscan why` as a string: for one patient at one index date, the population and, for each
/// measure (or only `measure`), the denominator and numerator as trees of conditions with
/// true/false and the rows behind each ([`render`]). `extract` must have been loaded by `scan`
/// (its [`Scan::history`] says which features' earlier rows are there).
pub fn tree(
    scan: &Scan,
    extract: &Extract,
    patient_id: i64,
    index: Day,
    measure: Option<&str>,
) -> Result<String, EvidenceError> {
    let plan = scan.plan();
    let measures = measures_named(plan, measure)?;
    let tracer = Tracer::new(plan, extract, scan.history());
    let p = tracer.patient_index(patient_id)?;
    let trace = tracer.patient(p, index, &measures)?;
    Ok(render(plan, &trace))
}

/// The whole tree for one patient.
pub fn render(plan: &Plan, t: &PatientTrace) -> String {
    let mut out = format!(
        "patient {} at {}: {}\n\npopulation: {}\n",
        t.patient_id,
        format_iso(t.index_date),
        t.practice.as_deref().map_or_else(
            || "no registration current on this date".to_string(),
            |p| format!("registered at practice {p}")
        ),
        verdict(t.population.value.holds())
    );
    let mut seen = HashSet::new();
    node(&mut out, &t.population, 1, &mut seen);
    for m in &t.measures {
        let info = &plan.measures[m.measure];
        let status = if m.in_numerator {
            "FLAGGED: in the numerator"
        } else if m.in_denominator {
            "not flagged: in the denominator, not in the numerator"
        } else {
            "not flagged: not in the denominator"
        };
        out += &format!(
            "\nmeasure {} ({}): {}\n{status}\n  denominator: {}\n",
            info.id,
            info.primis,
            info.title,
            verdict(m.denominator.value.holds())
        );
        node(&mut out, &m.denominator, 2, &mut seen);
        out += &format!("  numerator: {}\n", verdict(m.numerator.value.holds()));
        node(&mut out, &m.numerator, 2, &mut seen);
    }
    out
}

fn verdict(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

/// A value as shown: `true`, `71`, `"M"`, `2021-08-14`, `missing`.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Num(n) => number(*n),
        Value::Str(s) => format!("{s:?}"),
        Value::Date(d) => format_iso(*d),
        Value::Missing => "missing".into(),
    }
}

/// A row as shown: `medications 2021-08-14 ibuprofen 400mg tablets (nsaid 329791000001105)`.
pub fn row_text(r: &Row) -> String {
    let mut s = format!("{} {}", r.table.name(), format_iso(r.date));
    if let Some(v) = r.value {
        s += &format!(" value {}{}", r.comparator, number(v));
    }
    match &r.term {
        Some(t) => s += &format!(" {t} ({} {})", r.codelist, r.code),
        None => s += &format!(" ({} {})", r.codelist, r.code),
    }
    s
}

/// `ppi in 2021-06-01..2021-09-01` (an open end as `..`).
pub fn searched_text(s: &Searched) -> String {
    let end = |d: Option<i32>| d.map_or_else(String::new, format_iso);
    format!("{} in {}..{}", s.codelist, end(s.from), end(s.to))
}

fn node(out: &mut String, n: &Node, depth: usize, seen: &mut HashSet<String>) {
    let pad = "  ".repeat(depth);
    let literal = n.children.is_empty() && n.searched.is_none() && *n.text == *value_text(&n.value);
    if literal {
        return;
    }
    let named = n.text.contains(" = ") && !n.children.is_empty();
    if n.is_condition() {
        let head = verdict(n.value.holds());
        if named && !seen.insert(n.text.to_string()) {
            let name = n.text.split(" = ").next().unwrap_or(&n.text);
            *out += &format!("{pad}{head:<5}  {name} (as above)\n");
            return;
        }
        *out += &format!("{pad}{head:<5}  {}\n", n.text);
    } else {
        *out += &format!("{pad}=      {} is {}\n", n.text, value_text(&n.value));
    }
    if n.children.is_empty() {
        let inner = format!("{pad}         ");
        if let Some(s) = &n.searched {
            let found = if n.rows.is_empty() { ": nothing" } else { ":" };
            *out += &format!("{inner}searched {}{found}\n", searched_text(s));
        }
        for r in &n.rows {
            *out += &format!("{inner}- {}\n", row_text(r));
        }
        if let Some(r) = &n.last_before {
            *out += &format!("{inner}last before the window: {}\n", row_text(r));
        }
    }
    for c in &n.children {
        node(out, c, depth + 1, seen);
    }
}
