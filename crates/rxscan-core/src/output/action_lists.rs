//! `action_lists/<practice_pseudo_id>.csv`: per practice, one row per flagged patient and
//! measure at the scan's last index date (the list a pharmacist works through now; the
//! evidence of every date is in `evidence.jsonl`), sorted by measure (pack order) then
//! patient, with the measure's title and a one-line reason (patient-level: never written
//! under suppression).
//!
//! The reason is derived from the trace, the same way for every measure (no per-measure
//! text): following the conditions that decided the verdict, an age read gives `Age 71`, a
//! record query that found rows gives its latest row (`ibuprofen 400mg tablets 2021-08-14`),
//! a `latest` record read gives its value and date, and a `not` over a query that found
//! nothing gives what was not found and where, and the last one before if there is one in the
//! lookback (`no ppi 2021-06-01..2021-09-01 (last 2021-03-14)`). Ages come first, then the
//! numerator's facts, then the denominator's.

use std::collections::BTreeMap;

use crate::dates::format_iso;
use crate::evidence::{number, Evidence, MeasureTrace, Node, Row, Value};
use crate::results::{csv_field, Results};

/// One row of an action list.
pub struct Action {
    /// Index into [`Results::measures`].
    pub measure: usize,
    pub patient_id: i64,
    pub reason: String,
}

/// The action lists at the scan's last index date: per practice (in id order), the flagged
/// patients sorted by measure (pack order) then patient. Empty without evidence.
pub fn by_practice(r: &Results, ev: Option<&Evidence>) -> BTreeMap<String, Vec<Action>> {
    let mut out: BTreeMap<String, Vec<Action>> = BTreeMap::new();
    let (Some(ev), Some(&last)) = (ev, r.index_dates.iter().max()) else {
        return out;
    };
    for f in ev.flagged.iter().filter(|f| f.index_date == last) {
        out.entry(f.practice.clone()).or_default().push(Action {
            measure: f.trace.measure,
            patient_id: f.patient_id,
            reason: reason(&f.trace),
        });
    }
    for rows in out.values_mut() {
        rows.sort_by_key(|a| (a.measure, a.patient_id));
    }
    out
}

/// The files of the folder: (file name, contents), one per practice with a flagged patient.
pub fn render(r: &Results, ev: Option<&Evidence>) -> Vec<(String, Vec<u8>)> {
    let Some(&last) = r.index_dates.iter().max() else {
        return Vec::new();
    };
    by_practice(r, ev)
        .into_iter()
        .map(|(practice, rows)| {
            let mut text = String::from("measure,patient_id,reason,title,index_date\n");
            for a in rows {
                let info = &r.measure_info[a.measure];
                text += &format!(
                    "{},{},{},{},{}\n",
                    csv_field(&info.id),
                    a.patient_id,
                    csv_field(&a.reason),
                    csv_field(&info.title),
                    format_iso(last)
                );
            }
            (format!("{}.csv", file_name(&practice)), text.into_bytes())
        })
        .collect()
}

/// A practice id as a file name: letters, digits, `-`, `_` and `.` kept, anything else `_`
/// (a leading `.` too, so no file is hidden).
pub fn file_name(practice: &str) -> String {
    let s: String = practice
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    match s.strip_prefix('.') {
        Some(rest) => format!("_{rest}"),
        None if s.is_empty() => "_".into(),
        None => s,
    }
}

/// The one-line reason for a flagged patient (see the module doc).
pub fn reason(t: &MeasureTrace) -> String {
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
    // `not` over a query that found nothing: what is absent, and where.
    let found_nothing = n.deciding_rows().is_empty();
    if let (Some(s), true, Value::Bool(true)) = (&n.searched, found_nothing, &n.value) {
        if !n.children.is_empty() {
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
