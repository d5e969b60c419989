//! The one-line reason a pharmacist reads at a glance for a flagged patient (the action lists
//! and the report show it), derived from the trace the same way for every measure (no
//! per-measure text): following the conditions that decided the verdict, an age read gives
//! `Age 71`, a record query that found rows gives its latest row (`ibuprofen 400mg tablets
//! 2021-08-14`), a `latest` record read gives its value and date, and a `not` over a query that
//! found nothing gives what was not found and where, and the last one before if the record has
//! one (`no ppi 2021-06-01..2021-09-01 (last 2021-03-14)`). Ages come first, then the
//! numerator's facts, then the denominator's.

use super::{number, MeasureTrace, Node, Row, Value};
use crate::dates::format_iso;

/// The one-line reason for a flagged patient (see the module doc).
pub(super) fn reason(t: &MeasureTrace) -> String {
    let (mut ages, mut facts) = (Vec::new(), Vec::new());
    collect(&t.numerator, &mut ages, &mut facts);
    collect(&t.denominator, &mut ages, &mut facts);
    let mut out: Vec<String> = Vec::new();
    for f in ages.into_iter().chain(facts) {
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out.join("; ")
}

fn row_fact(r: &Row) -> String {
    let name = r.term.as_deref().unwrap_or(&*r.code);
    match r.value {
        Some(v) => format!(
            "{name} {}{} {}",
            r.comparator,
            number(v),
            format_iso(r.date)
        ),
        None => format!("{name} {}", format_iso(r.date)),
    }
}

fn collect(n: &Node, ages: &mut Vec<String>, facts: &mut Vec<String>) {
    if &*n.text == "age" {
        if let Value::Num(a) = n.value {
            ages.push(format!("Age {}", number(a)));
        }
        return;
    }
    // `not` over a query that found nothing: what is absent, and where (the rows below looked
    // for only then: gathering them at every node cost more than the rest of the trace).
    if let (Some(s), Value::Bool(true)) = (&n.searched, &n.value) {
        if !n.children.is_empty() && n.deciding_rows().is_empty() {
            let range = match (s.from, s.to) {
                (Some(a), Some(b)) => format!("{}..{}", format_iso(a), format_iso(b)),
                (None, Some(b)) => format!("up to {}", format_iso(b)),
                (Some(a), None) => format!("from {}", format_iso(a)),
                (None, None) => "ever".into(),
            };
            let last = n
                .last_before
                .as_ref()
                .map_or_else(String::new, |r| format!(" (last {})", format_iso(r.date)));
            facts.push(format!("no {} {range}{last}", s.codelist));
            return;
        }
    }
    if n.children.is_empty() {
        if n.searched.is_some() && !matches!(n.value, Value::Bool(false) | Value::Missing) {
            // The latest row of each codelist the query matched.
            let mut latest: Vec<&Row> = Vec::new();
            for r in &n.rows {
                match latest.iter_mut().find(|l| l.codelist == r.codelist) {
                    Some(l) if r.date > l.date => *l = r,
                    Some(_) => {}
                    None => latest.push(r),
                }
            }
            facts.extend(latest.into_iter().map(row_fact));
        }
        return;
    }
    for &i in &n.deciding {
        collect(&n.children[i], ages, facts);
    }
}
