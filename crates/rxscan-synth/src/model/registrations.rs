//! Practice registrations, with transfers between practices.
//!
//! A patient's registration runs from the start drawn in `demography` to death, leaving or the
//! end of the extract. Some patients transfer between practices (more often at ages 18-40): the
//! next registration follows contiguously, after a small gap, or overlapping by a day or two,
//! as in real extracts. At most six registrations per patient.

use super::demography::Demography;
use super::practices::Practices;
use super::{RegRow, EXTRACT_END, NONE, YEAR};
use crate::rng::Rng;

/// Writes the registrations of patient `id`; returns the index of the first practice.
pub(super) fn registrations(
    rng: &mut Rng,
    practices: &Practices,
    id: u32,
    person: &Demography,
    regs: &mut Vec<RegRow>,
) -> usize {
    let reg_end = person.reg_end;
    let transfer_rate = if (18.0..40.0).contains(&person.age) {
        0.03
    } else {
        0.015
    };
    let end_eff = if reg_end == NONE {
        EXTRACT_END + 1
    } else {
        reg_end
    };
    let mut t = person.start;
    let mut practice = practices.pick(rng);
    let first_practice = practice;
    for n in 0.. {
        let next = t + (rng.exp(1.0 / transfer_rate).min(120.0) * YEAR) as i32;
        if next >= end_eff || n == 5 {
            regs.push(RegRow {
                id,
                start: t,
                end: reg_end,
                practice: practices.ids[practice],
            });
            break;
        }
        regs.push(RegRow {
            id,
            start: t,
            end: next,
            practice: practices.ids[practice],
        });
        let u = rng.f64();
        t = if u < 0.8 {
            next
        } else if u < 0.95 {
            next + rng.range(1, 14)
        } else {
            next - rng.range(1, 3)
        };
        if t >= end_eff {
            break;
        }
        practice = practices.pick_other(rng, practice);
    }
    first_practice
}
