//! Running the engine as a user would (rows written to files, loaded with `Extract::load`,
//! evaluated) and converting its results: to the reference's [`Outcome`] shape, or to the
//! slices of one date position.

use std::path::Path;

use chrono::NaiveDate;
use rxscan_core::dates;
use rxscan_core::eval::{evaluate, EvalOptions};
use rxscan_core::extract::{Extract, LoadOptions};
use rxscan_core::plan::Plan;
use rxscan_core::results::Results;

use crate::reference::{iso, Outcome, RawExtract};
use crate::writers::{write_extract, Format};

fn day_number(d: NaiveDate) -> i32 {
    dates::parse_iso(&iso(d)).expect("a date the library accepts")
}

/// Load as a library user may: every code (`keep_all_codes`), the plan's codes at any date, or
/// (given the index dates, as `rxscan scan` does) only rows dated where some window can see
/// them at those dates.
pub fn load(plan: &Plan, dir: &Path, keep_all_codes: bool, at: Option<&[NaiveDate]>) -> Extract {
    let opts = match (keep_all_codes, at) {
        (true, _) => LoadOptions::default(),
        (false, None) => rxscan_core::scan::rows::for_any_date(plan),
        (false, Some(dates)) => {
            let days = dates.iter().map(|&d| day_number(d));
            rxscan_core::scan::rows::for_dates(
                plan,
                &rxscan_core::IndexDates::any_days(days).expect("dates"),
            )
        }
    };
    Extract::load(dir, &opts).unwrap_or_else(|e| panic!("the generated extract must load: {e}"))
}

pub fn run(plan: &Plan, ex: &Extract, index_dates: &[NaiveDate]) -> Result<Results, String> {
    let days: Vec<i32> = index_dates.iter().map(|&d| day_number(d)).collect();
    evaluate(plan, ex, &days, &EvalOptions { patient_rows: true }).map_err(|e| e.to_string())
}

pub fn scan(
    plan: &Plan,
    raw: &RawExtract,
    index_dates: &[NaiveDate],
    f: Format,
    keep_all_codes: bool,
) -> Result<Results, String> {
    let dir = tempfile::tempdir().expect("tempdir");
    write_extract(raw, dir.path(), f);
    run(
        plan,
        &load(plan, dir.path(), keep_all_codes, Some(index_dates)),
        index_dates,
    )
}

/// The engine's results in the reference's shape. Every non-zero number is kept, so a count
/// at a practice the reference does not list shows up as a difference.
pub fn outcome(r: &Results) -> Outcome {
    let mut out = Outcome::default();
    let np = r.practices.len();
    let nc = r.composites.len();
    for (d, &day) in r.index_dates.iter().enumerate() {
        let date = dates::format_iso(day);
        for (p, practice) in r.practices.iter().enumerate() {
            let pop = r.population[d * np + p];
            if pop > 0 {
                out.population.insert((date.clone(), practice.clone()), pop);
            }
            for (m, id) in r.measures.iter().enumerate() {
                let (num, den) = r.count(d, p, m);
                if pop > 0 || num > 0 || den > 0 {
                    out.counts
                        .insert((date.clone(), practice.clone(), id.clone()), (num, den));
                }
            }
            for (c, (id, members)) in r.composites.iter().enumerate() {
                let k = (d * np + p) * nc + c;
                let all =
                    &r.composite_histogram[k * (r.max_members + 1)..(k + 1) * (r.max_members + 1)];
                // Slots past the composite's own members must stay empty; keep them if not.
                let used = if all[members + 1..].iter().any(|&n| n > 0) {
                    all.len()
                } else {
                    members + 1
                };
                let den = r.composite_denominators[k];
                if pop > 0 || den > 0 || all.iter().any(|&n| n > 0) {
                    out.composites.insert(
                        (date.clone(), practice.clone(), id.clone()),
                        (den, all[..used].to_vec()),
                    );
                }
            }
        }
    }
    for f in &r.patient_rows {
        out.patients.insert(
            (
                dates::format_iso(r.index_dates[f.date as usize]),
                r.patient_ids[f.patient as usize],
                r.measures[f.measure as usize].clone(),
            ),
            (r.practices[f.practice as usize].clone(), f.numerator),
        );
    }
    out
}

/// The slices of `r` for date position `d`, and its patient rows at that date (with the date
/// erased), to compare one position of a series with the same date scanned alone.
#[allow(clippy::type_complexity)]
pub fn at_date(
    r: &Results,
    d: usize,
) -> (
    Vec<u64>,
    Vec<u64>,
    Vec<u64>,
    Vec<u64>,
    Vec<u64>,
    Vec<(u32, u32, u32, bool)>,
) {
    let (p, m, c) = (r.practices.len(), r.measures.len(), r.composites.len());
    let h = c * (r.max_members + 1);
    (
        r.numerators[d * p * m..(d + 1) * p * m].to_vec(),
        r.denominators[d * p * m..(d + 1) * p * m].to_vec(),
        r.population[d * p..(d + 1) * p].to_vec(),
        r.composite_denominators[d * p * c..(d + 1) * p * c].to_vec(),
        r.composite_histogram[d * p * h..(d + 1) * p * h].to_vec(),
        r.patient_rows
            .iter()
            .filter(|f| f.date as usize == d)
            .map(|f| (f.patient, f.practice, f.measure, f.numerator))
            .collect(),
    )
}
