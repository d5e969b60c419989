//! The patients and practice_registrations tables: small next to the event tables, so they
//! are read whole through polars and the exact validators, with no fast path.
//!
//! Patients are sorted by `patient_id` into the dense index `0..n` every other table refers
//! to ([`PatientIndex`]); registrations are grouped by patient (in `registration_id` order when
//! the optional column is there, file order otherwise: the last registration tie-break) and
//! their practices numbered in output order.

use std::path::Path;

use polars::prelude::*;
use rustc_hash::FxHashMap;

use super::error::ExtractError;
use super::files::read_source;
use super::model::{Extract, Registrations, Sex, NO_DATE};
use super::options::LoadOptions;
use super::source::{Orphans, StrCol};
use super::values::PatientIndex;
use crate::dates;

pub(super) fn load_patients(dir: &Path, ex: &mut Extract) -> Result<PatientIndex, ExtractError> {
    let src = read_source(
        dir,
        "patients",
        &["patient_id", "date_of_birth", "sex"],
        &["date_of_death"],
    )?;
    if src.n_rows() == 0 {
        return Err(ExtractError::Invalid {
            path: src.path.clone(),
            message: "the patients table has no rows".into(),
        });
    }
    let ids = src.ids("patient_id")?;
    let dob = src.dates("date_of_birth", false)?;
    let death = if src.has("date_of_death") {
        src.dates("date_of_death", true)?
    } else {
        vec![NO_DATE; ids.len()]
    };
    let sex_col = src.strings("sex")?;
    let mut sex = Vec::with_capacity(ids.len());
    for (i, s) in sex_col.iter().enumerate() {
        match Sex::parse(s) {
            Some(v) => sex.push(v),
            None => {
                return Err(src.bad(
                    i,
                    "sex",
                    "unknown sex",
                    s,
                    "male, female, intersex, unknown (or M, F, I, U)",
                ))
            }
        }
    }
    for (i, (&b, &d)) in dob.iter().zip(&death).enumerate() {
        if d != NO_DATE && d < b {
            return Err(src.bad(
                i,
                "date_of_death",
                "death before birth",
                &dates::format_iso(d),
                "a date of death on or after the date of birth",
            ));
        }
    }
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_unstable_by_key(|&i| (ids[i], i));
    for w in order.windows(2) {
        if ids[w[0]] == ids[w[1]] {
            let first = src.location(w[0]);
            return Err(src.bad(
                w[1],
                "patient_id",
                &format!("duplicate patient (first at {first})"),
                &ids[w[1]].to_string(),
                "each patient_id once",
            ));
        }
    }
    ex.patient_ids = order.iter().map(|&i| ids[i]).collect();
    ex.date_of_birth = order.iter().map(|&i| dob[i]).collect();
    ex.sex = order.iter().map(|&i| sex[i]).collect();
    ex.date_of_death = order.iter().map(|&i| death[i]).collect();
    Ok(PatientIndex::new(&ex.patient_ids))
}

/// Sort practice ids numerically when every id is digits, otherwise as text.
fn practice_order(names: &[String]) -> Vec<usize> {
    let numeric = names
        .iter()
        .all(|n| !n.is_empty() && n.len() < 19 && n.bytes().all(|b| b.is_ascii_digit()));
    let mut order: Vec<usize> = (0..names.len()).collect();
    if numeric {
        order.sort_by_key(|&i| {
            (
                names[i].parse::<u64>().unwrap_or(u64::MAX),
                names[i].clone(),
            )
        });
    } else {
        order.sort_by(|&a, &b| names[a].cmp(&names[b]));
    }
    order
}

pub(super) fn load_registrations(
    dir: &Path,
    index: &PatientIndex,
    opts: &LoadOptions,
    ex: &mut Extract,
) -> Result<(), ExtractError> {
    let src = read_source(
        dir,
        "practice_registrations",
        &["patient_id", "start_date", "end_date", "practice_pseudo_id"],
        &["registration_id"],
    )?;
    let ids = src.ids("patient_id")?;
    // The tie-break of last resort (INDICATORS.md §2.7: the lowest registration id); without
    // the column, the order of the rows in the file stands in for it.
    let registration_ids = if src.has("registration_id") {
        Some(src.ids("registration_id")?)
    } else {
        None
    };
    let start = src.dates("start_date", false)?;
    let end = src.dates("end_date", true)?;
    let practice_col = {
        let col = src.col("practice_pseudo_id")?;
        if col.dtype().is_integer() {
            let cast = col.cast(&DataType::String).map_err(|e| src.polars(e))?;
            StrCol(cast.str().map_err(|e| src.polars(e))?.clone())
        } else {
            src.strings("practice_pseudo_id")?
        }
    };
    let mut names: Vec<String> = Vec::new();
    let mut name_ids: FxHashMap<String, u32> = FxHashMap::default();
    let mut practice = Vec::with_capacity(ids.len());
    for (i, p) in practice_col.iter().enumerate() {
        let p = p.trim();
        if p.is_empty() {
            return Err(src.bad(i, "practice_pseudo_id", "empty value", "", "a practice id"));
        }
        let id = match name_ids.get(p) {
            Some(&id) => id,
            None => {
                names.push(p.to_string());
                name_ids.insert(p.to_string(), (names.len() - 1) as u32);
                (names.len() - 1) as u32
            }
        };
        practice.push(id);
    }
    for i in 0..ids.len() {
        if end[i] != NO_DATE && end[i] < start[i] {
            return Err(src.bad(
                i,
                "end_date",
                "registration ends before it starts",
                &dates::format_iso(end[i]),
                &format!(
                    "an end_date on or after the start_date {}",
                    dates::format_iso(start[i])
                ),
            ));
        }
    }
    // Renumber practices in their output order.
    let order = practice_order(&names);
    let mut rank = vec![0u32; names.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r as u32;
    }
    ex.practices = order.iter().map(|&i| names[i].clone()).collect();

    let mut orphans = Orphans::new();
    let mut patient = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        match index.get(*id) {
            Some(p) => patient.push(p),
            None => {
                orphans.note(*id, i);
                patient.push(u32::MAX);
            }
        }
    }
    orphans.settle(&src, opts, &mut ex.orphans_skipped)?;
    let (offsets, mut perm) = group_by_patient(&patient, ex.n_patients());
    if let Some(reg) = &registration_ids {
        // Each patient's registrations in registration_id order (stable: equal ids keep the
        // file's order), so "first" in the evaluator means "lowest registration id".
        for w in offsets.windows(2) {
            perm[w[0]..w[1]].sort_by_key(|&i| reg[i]);
        }
    }
    ex.registrations = Registrations {
        offsets,
        start: perm.iter().map(|&i| start[i]).collect(),
        end: perm.iter().map(|&i| end[i]).collect(),
        practice: perm.iter().map(|&i| rank[practice[i] as usize]).collect(),
    };
    Ok(())
}

/// Counting sort by patient: offsets per patient and the row permutation. Stable, and rows
/// whose patient is `u32::MAX` (skipped orphans, dropped codes) are left out.
fn group_by_patient(patient: &[u32], n: usize) -> (Vec<usize>, Vec<usize>) {
    let mut offsets = vec![0usize; n + 1];
    for &p in patient {
        if p != u32::MAX {
            offsets[p as usize + 1] += 1;
        }
    }
    for i in 0..n {
        offsets[i + 1] += offsets[i];
    }
    let mut next = offsets.clone();
    let mut perm = vec![0usize; offsets[n]];
    for (row, &p) in patient.iter().enumerate() {
        if p != u32::MAX {
            perm[next[p as usize]] = row;
            next[p as usize] += 1;
        }
    }
    (offsets, perm)
}
