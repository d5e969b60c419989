//! Which rows of an extract a scan needs: planned from the plan and the index dates, before any
//! file is read (planning is not loading; the loader only applies the filter it is given).
//!
//! A row is kept when its code is in a codelist some feature reads and its date is inside that
//! feature's window at some scanned index date. Windows move with the index date and month
//! arithmetic is monotone, so the union of a feature's windows at the first and last date
//! covers every date between. This is predicate push-down: on a monthly scan most records of
//! chronic repeat prescriptions fall outside every window and are never grouped.

use crate::dates::Day;
use crate::extract::{KeepCode, LoadOptions};
use crate::plan::{Feature, Plan, Table};

use super::IndexDates;

/// Keep the rows whose code is in a codelist some feature of `plan` reads, at any date: the
/// extract answers the plan at every index date.
pub fn for_any_date(plan: &Plan) -> LoadOptions {
    spans(plan, None)
}

/// Keep the rows that can change a result of `plan` at an index date from the first to the
/// last of `dates` (the extract records that range and refuses other dates).
pub fn for_dates(plan: &Plan, dates: &IndexDates) -> LoadOptions {
    spans(plan, Some((dates.first(), dates.last())))
}

fn spans(plan: &Plan, range: Option<(Day, Day)>) -> LoadOptions {
    let mut meds: Vec<KeepCode> = Vec::new();
    let mut events: Vec<KeepCode> = Vec::new();
    for f in &plan.features {
        // A window whose ends are not calendar days at some date keeps everything: the
        // evaluator reports that date as an error.
        let (from, to) = match range {
            None => (Day::MIN, Day::MAX),
            Some((first, last)) => {
                let w = f.window();
                match (w.bounds_at(first), w.bounds_at(last)) {
                    (Some(a), Some(b)) => (a.0.min(b.0), a.1.max(b.1)),
                    _ => (Day::MIN, Day::MAX),
                }
            }
        };
        let lists: &[usize] = match f {
            Feature::Has { codelist, .. } | Feature::Latest { codelist, .. } => {
                std::slice::from_ref(codelist)
            }
            Feature::Within { a, b, .. } => &[*a, *b],
        };
        for &c in lists {
            let list = &plan.codelists[c];
            let out = match list.table {
                Table::Medications => &mut meds,
                Table::ClinicalEvents => &mut events,
            };
            out.extend(list.codes.iter().map(|code| KeepCode {
                code: code.clone(),
                from,
                to,
            }));
        }
    }
    LoadOptions {
        skip_orphans: false,
        keep_medication_codes: Some(meds),
        keep_event_codes: Some(events),
        index_date_range: range,
        ..LoadOptions::default()
    }
}
