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
use crate::plan::{Expr, Feature, Plan, Table};

use super::IndexDates;

/// Keep the rows whose code is in a codelist some feature of `plan` reads, at any date: the
/// extract answers the plan at every index date.
pub fn for_any_date(plan: &Plan) -> LoadOptions {
    spans(plan, None, &History::default())
}

pub use crate::extract::History;

/// Keep the rows that can change a result of `plan` at an index date from the first to the
/// last of `dates` (the extract records that range and refuses other dates).
pub fn for_dates(plan: &Plan, dates: &IndexDates) -> LoadOptions {
    spans(
        plan,
        Some((dates.first(), dates.last())),
        &History::default(),
    )
}

/// [`for_dates`], and the rows before the windows that `history` asks for (evidence names
/// the last row before a window that found nothing).
pub fn with_history(plan: &Plan, dates: &IndexDates, history: &History) -> LoadOptions {
    spans(plan, Some((dates.first(), dates.last())), history)
}

/// The features whose *absence* can make a condition of the plan true: a flag or record under
/// an odd number of `not`, and anything read through `exists` or `coalesce` (a missing value
/// decides those). Evidence shows the last row before the window for these.
pub fn absence_features(plan: &Plan) -> Vec<bool> {
    fn walk(e: &Expr, negative: bool, out: &mut [bool]) {
        match e {
            Expr::Flag(f) | Expr::RecordExists(f) | Expr::Record(f, _) => out[*f] |= negative,
            Expr::Not(x) => walk(x, !negative, out),
            Expr::Exists(x) => {
                walk(x, true, out);
                walk(x, false, out);
            }
            Expr::Coalesce(a, b) => {
                walk(a, true, out);
                walk(b, negative, out);
            }
            Expr::And(xs) | Expr::Or(xs) => xs.iter().for_each(|x| walk(x, negative, out)),
            Expr::Cmp(_, a, b) => {
                walk(a, negative, out);
                walk(b, negative, out);
            }
            Expr::In(x, xs) => {
                walk(x, negative, out);
                xs.iter().for_each(|x| walk(x, negative, out));
            }
            _ => {}
        }
    }
    let mut out = vec![false; plan.features.len()];
    walk(&plan.population, false, &mut out);
    for m in &plan.measures {
        walk(&m.denominator, false, &mut out);
        walk(&m.numerator, false, &mut out);
    }
    out
}

/// The medication codes that gate the clinical events' history when evidence traces only
/// flagged patients ([`LoadOptions::history_gate`]): for each measure whose conditions (its
/// population, denominator or numerator) read a feature with clinical-event history where it
/// can decide a value ([`Expr::any`]: not under `false and`), codes of
/// which its numerator requires a prescription ([`prescribed`]). A flagged patient has a row
/// of one of them in a feature's window, kept for counting, so the gate never hides a flagged
/// patient's last row before a window. `None` (no gate) when such a measure's numerator
/// requires no prescription.
pub fn history_gate(plan: &Plan, history: &History) -> Option<Vec<String>> {
    let reads_events = |f: usize| {
        feature_lists(&plan.features[f])
            .iter()
            .any(|&c| plan.codelists[c].table == Table::ClinicalEvents)
    };
    // A read of a feature with clinical-event history, where it can decide a value.
    let reads_history = |e: &Expr| {
        e.any(&|x| match x {
            Expr::Flag(f) | Expr::RecordExists(f) | Expr::Record(f, _) => {
                history.of(*f) && reads_events(*f)
            }
            _ => false,
        })
    };
    let mut codes = std::collections::BTreeSet::new();
    for m in &plan.measures {
        if [&plan.population, &m.denominator, &m.numerator]
            .into_iter()
            .any(reads_history)
        {
            for c in prescribed(plan, &m.numerator)? {
                codes.extend(plan.codelists[c].codes.iter().cloned());
            }
        }
    }
    Some(codes.into_iter().collect())
}

/// Medications codelists of which `e` being true requires a row dated in a feature's window
/// (one of them at least; none: `e` is never true), or `None` when `e` requires no
/// prescription. A `Has` or `Within` flag reading medications requires its codelist; an `and`
/// what any of its operands requires (the first that requires one), an `or` what all of them
/// together require, `false` nothing at all.
pub fn prescribed(plan: &Plan, e: &Expr) -> Option<Vec<usize>> {
    match e {
        Expr::Flag(f) => feature_lists(&plan.features[*f])
            .into_iter()
            .find(|&c| plan.codelists[c].table == Table::Medications)
            .map(|c| vec![c]),
        Expr::And(xs) => xs.iter().find_map(|x| prescribed(plan, x)),
        Expr::Or(xs) => xs.iter().try_fold(Vec::new(), |mut all, x| {
            all.extend(prescribed(plan, x)?);
            Some(all)
        }),
        Expr::Bool(false) => Some(Vec::new()),
        _ => None,
    }
}

/// The codelists a feature reads.
fn feature_lists(f: &Feature) -> Vec<usize> {
    match *f {
        Feature::Has { codelist, .. } | Feature::Latest { codelist, .. } => vec![codelist],
        Feature::Within { a, b, .. } => vec![a, b],
    }
}

fn spans(plan: &Plan, range: Option<(Day, Day)>, history: &History) -> LoadOptions {
    let mut meds: Vec<KeepCode> = Vec::new();
    let mut events: Vec<KeepCode> = Vec::new();
    for (i, f) in plan.features.iter().enumerate() {
        let (from, to) = f.span(range);
        // History only where rows can be older than every row counting keeps: not for a window
        // open to the start of the record.
        let latest_before = (history.of(i) && from > Day::MIN).then_some(i as u32);
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
                latest_before,
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
