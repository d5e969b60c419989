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
use super::model::{Extract, InputFile, Registrations, Sex, NO_DATE};
use super::options::LoadOptions;
use super::source::{Orphans, StrCol};
use super::values::PatientIndex;
use crate::dates;

pub(super) fn load_patients(
    dir: &Path,
    opts: &LoadOptions,
    ex: &mut Extract,
) -> Result<PatientIndex, ExtractError> {
    let parts = read_source(
        dir,
        "patients",
        &["patient_id", "date_of_birth", "sex", "date_of_death"],
        &[],
        opts,
        &mut ex.report,
    )?;
    // Each file validated on its own (messages name it), then the rows concatenated; `origin`
    // says where each row came from, for a duplicate found across files.
    let (mut ids, mut dob, mut death, mut sex) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut origin: Vec<(usize, usize)> = Vec::new();
    let mut unrecognised = std::collections::BTreeMap::new();
    for (k, (src, columns)) in parts.iter().enumerate() {
        let file_ids = src.ids("patient_id")?;
        let file_dob = src.dates("date_of_birth", false)?;
        // Present unless declared absent (`columns.rs` refuses it missing undeclared).
        let file_death = if columns.wanted.iter().any(|c| c == "date_of_death") {
            src.dates("date_of_death", true)?
        } else {
            vec![NO_DATE; file_ids.len()]
        };
        for (i, (&b, &d)) in file_dob.iter().zip(&file_death).enumerate() {
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
        let sex_col = src.strings("sex")?;
        sex.extend(read_sex(
            &sex_col,
            columns.sex_values.as_deref(),
            &mut unrecognised,
        ));
        let n = file_ids.len();
        ex.report
            .inputs
            .push(input_file("patients", &src.path, n, n));
        origin.extend((0..n).map(|r| (k, r)));
        ids.extend(file_ids);
        dob.extend(file_dob);
        death.extend(file_death);
    }
    ex.report.unrecognised_sex = unrecognised.into_iter().collect();
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_unstable_by_key(|&i| (ids[i], i));
    for w in order.windows(2) {
        if ids[w[0]] == ids[w[1]] {
            let ((k0, r0), (k1, r1)) = (origin[w[0]], origin[w[1]]);
            let first = match k0 == k1 {
                true => parts[k0].0.location(r0).to_string(),
                false => format!(
                    "{}:{}",
                    parts[k0].0.path.display(),
                    parts[k0].0.location(r0)
                ),
            };
            return Err(parts[k1].0.bad(
                r1,
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

/// Each patient's sex, by the mapping's spellings (trimmed, ignoring case) or the contract's.
/// A value outside them, or empty, is [`Sex::Unrecognised`] (INDICATORS.md §7.12: in no
/// population), and counted by value in the report.
fn read_sex(
    col: &StrCol,
    spellings: Option<&[(String, Sex)]>,
    unrecognised: &mut std::collections::BTreeMap<String, usize>,
) -> Vec<Sex> {
    col.iter()
        .map(|s| {
            let known = match spellings {
                Some(list) => list
                    .iter()
                    .find(|(spelt, _)| spelt.eq_ignore_ascii_case(s.trim()))
                    .map(|(_, sex)| *sex),
                None => Sex::parse(s),
            };
            known.unwrap_or_else(|| {
                *unrecognised.entry(s.trim().to_string()).or_default() += 1;
                Sex::Unrecognised
            })
        })
        .collect()
}

/// The report's entry for a file read.
pub(super) fn input_file(
    table: &str,
    path: &Path,
    rows_read: usize,
    rows_kept: usize,
) -> InputFile {
    InputFile {
        table: table.to_string(),
        path: path.to_path_buf(),
        bytes: std::fs::metadata(path).map_or(0, |m| m.len()),
        rows_read,
        rows_kept,
    }
}

/// Sort practice ids numerically when every id is digits, otherwise as text.
pub(crate) fn practice_order(names: &[String]) -> Vec<usize> {
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

/// `practice_pseudo_id` is required unless the caller names the practice of a table without
/// it ([`LoadOptions::practice_if_no_column`]).
fn required_registration_columns(opts: &LoadOptions) -> Vec<&'static str> {
    let mut cols = vec!["patient_id", "start_date", "end_date"];
    if opts.practice_if_no_column.is_none() {
        cols.push("practice_pseudo_id");
    }
    cols
}

/// `registration_id` (the tie-break of last resort) is optional; so is `practice_pseudo_id`
/// when the caller names the practice of a table without it.
fn optional_registration_columns(opts: &LoadOptions) -> &'static [&'static str] {
    match opts.practice_if_no_column {
        Some(_) => &["registration_id", "practice_pseudo_id"],
        None => &["registration_id"],
    }
}

pub(super) fn load_registrations(
    dir: &Path,
    index: &PatientIndex,
    opts: &LoadOptions,
    ex: &mut Extract,
) -> Result<(), ExtractError> {
    let parts = read_source(
        dir,
        "practice_registrations",
        &required_registration_columns(opts),
        optional_registration_columns(opts),
        opts,
        &mut ex.report,
    )?;
    let mut names: Vec<String> = Vec::new();
    let mut name_ids: FxHashMap<String, u32> = FxHashMap::default();
    let (mut patient, mut start, mut end, mut practice) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // The tie-break of last resort (INDICATORS.md §2.7: the lowest registration id), when every
    // file has the column; otherwise the order of the rows in the files stands in for it.
    let mut registration_ids: Option<Vec<i64>> = parts
        .iter()
        .all(|(src, _)| src.has("registration_id"))
        .then(Vec::new);
    // Each file validated on its own (messages name it), then the rows concatenated.
    for (src, _) in &parts {
        let ids = src.ids("patient_id")?;
        if let Some(reg) = &mut registration_ids {
            reg.extend(src.ids("registration_id")?);
        }
        let file_start = src.dates("start_date", false)?;
        let file_end = src.dates("end_date", true)?;
        let practice_col = if !src.has("practice_pseudo_id") {
            // Only reachable with a practice for the missing column (it is required otherwise).
            let name = opts.practice_if_no_column.clone().unwrap_or_default();
            StrCol(StringChunked::full(
                "practice_pseudo_id".into(),
                &name,
                ids.len(),
            ))
        } else {
            let col = src.col("practice_pseudo_id")?;
            if col.dtype().is_integer() {
                let cast = col.cast(&DataType::String).map_err(|e| src.polars(e))?;
                StrCol(cast.str().map_err(|e| src.polars(e))?.clone())
            } else {
                src.strings("practice_pseudo_id")?
            }
        };
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
            if file_end[i] != NO_DATE && file_end[i] < file_start[i] {
                return Err(src.bad(
                    i,
                    "end_date",
                    "registration ends before it starts",
                    &dates::format_iso(file_end[i]),
                    &format!(
                        "an end_date on or after the start_date {}",
                        dates::format_iso(file_start[i])
                    ),
                ));
            }
        }
        let mut orphans = Orphans::new();
        for (i, id) in ids.iter().enumerate() {
            match index.get(*id) {
                Some(p) => patient.push(p),
                None => {
                    orphans.note(*id, i);
                    patient.push(u32::MAX);
                }
            }
        }
        let n_orphans = orphans.count;
        orphans.settle(src, opts, &mut ex.orphans_skipped)?;
        ex.report.inputs.push(input_file(
            "practice_registrations",
            &src.path,
            ids.len(),
            ids.len() - n_orphans,
        ));
        start.extend(file_start);
        end.extend(file_end);
    }
    // Renumber practices in their output order.
    let order = practice_order(&names);
    let mut rank = vec![0u32; names.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r as u32;
    }
    ex.practices = order.iter().map(|&i| names[i].clone()).collect();
    let (offsets, mut perm) = group_by_patient(&patient, ex.n_patients());
    if let Some(reg) = &registration_ids {
        // Each patient's registrations in registration_id order (stable: equal ids keep the
        // files' order), so "first" in the evaluator means "lowest registration id".
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
