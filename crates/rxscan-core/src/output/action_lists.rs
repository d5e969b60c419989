//! `action_lists/<practice_pseudo_id>.csv`: per practice, one row per flagged patient and
//! measure at the scan's last index date (the list a pharmacist works through now; the
//! evidence of every date is in `evidence.jsonl`), sorted by measure (pack order) then
//! patient, with the measure's title and a one-line reason (patient-level: never written
//! under suppression). The reason is the trace's own ([`crate::evidence::Flagged::reason`],
//! computed once per flag at the last index date, in the evidence pass; the report's action-list section reads the
//! same).

use std::collections::BTreeMap;

use crate::dates::format_iso;
use crate::evidence::Evidence;
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
            reason: f.reason.clone().unwrap_or_default(),
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
