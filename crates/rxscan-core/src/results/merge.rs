//! Results of several extracts as one: a batch scan evaluates each practice folder on its own
//! (patient ids are only unique within one export) and merges their [`Results`] here.
//!
//! Counts add up per (index date, practice): two folders that carry the same practice id are
//! one practice. Patients stay apart: each part's dense patient indices are shifted past the
//! previous parts', so the same `patient_id` in two folders is two patients.

use super::{PatientFlag, Results};
use crate::extract::practice_order;

/// Merge the results of one plan at the same index dates over several extracts, in the order
/// given (which is the order of their patients in `patient_rows`). `None` for no parts.
pub fn merge(parts: Vec<Results>) -> Option<Results> {
    let first = parts.first()?;
    let mut names: Vec<String> = parts.iter().flat_map(|r| r.practices.clone()).collect();
    names.sort();
    names.dedup();
    let order = practice_order(&names);
    let practices: Vec<String> = order.iter().map(|&i| names[i].clone()).collect();
    let position = |name: &str| {
        practices
            .iter()
            .position(|p| p == name)
            .expect("every part's practice is in the union")
    };
    let (n_dates, n_practices) = (first.index_dates.len(), practices.len());
    let (n_measures, n_composites) = (first.measures.len(), first.composites.len());
    let hist = first.max_members + 1;
    let mut out = Results {
        index_dates: first.index_dates.clone(),
        practices: practices.clone(),
        measures: first.measures.clone(),
        measure_info: first.measure_info.clone(),
        composites: first.composites.clone(),
        max_members: first.max_members,
        numerators: vec![0; n_dates * n_practices * n_measures],
        denominators: vec![0; n_dates * n_practices * n_measures],
        population: vec![0; n_dates * n_practices],
        composite_denominators: vec![0; n_dates * n_practices * n_composites],
        composite_histogram: vec![0; n_dates * n_practices * n_composites * hist],
        patient_rows: Vec::new(),
        patient_ids: Vec::new(),
    };
    for part in &parts {
        assert!(
            part.index_dates == out.index_dates && part.measures == out.measures,
            "merged results come from one plan at the same index dates"
        );
        let to: Vec<usize> = part.practices.iter().map(|p| position(p)).collect();
        let np = part.practices.len();
        for d in 0..n_dates {
            for (p, &q) in to.iter().enumerate() {
                let (src, dst) = (d * np + p, d * n_practices + q);
                out.population[dst] += part.population[src];
                add(&mut out.numerators, &part.numerators, src, dst, n_measures);
                add(
                    &mut out.denominators,
                    &part.denominators,
                    src,
                    dst,
                    n_measures,
                );
                add(
                    &mut out.composite_denominators,
                    &part.composite_denominators,
                    src,
                    dst,
                    n_composites,
                );
                add(
                    &mut out.composite_histogram,
                    &part.composite_histogram,
                    src,
                    dst,
                    n_composites * hist,
                );
            }
        }
        let shift = out.patient_ids.len() as u32;
        out.patient_rows
            .extend(part.patient_rows.iter().map(|f| PatientFlag {
                patient: f.patient + shift,
                practice: to[f.practice as usize] as u32,
                ..*f
            }));
        out.patient_ids.extend_from_slice(&part.patient_ids);
    }
    // Sorted by date, then patient (parts in order), then measure, as one extract's rows are.
    out.patient_rows
        .sort_by_key(|f| (f.date, f.patient, f.measure));
    Some(out)
}

/// Add block `src` of `from` (blocks of `width`) onto block `dst` of `to`.
fn add(to: &mut [u64], from: &[u64], src: usize, dst: usize, width: usize) {
    let (to, from) = (
        &mut to[dst * width..(dst + 1) * width],
        &from[src * width..(src + 1) * width],
    );
    for (t, f) in to.iter_mut().zip(from) {
        *t += f;
    }
}
