//! The index dates as blocks of up to 64 lanes, with everything about them that does not
//! depend on the patient (every window bound at every lane, worked out once), and the one
//! per-patient fact that depends only on the lanes: the current registration.

use super::program::{self, lanes, Mask, LANES};
use super::EvalError;
use crate::dates::{self, Day};
use crate::extract::{Extract, NO_DATE};
use crate::plan::{Plan, Window};

pub(super) fn shift(index: Day, o: crate::plan::Offset) -> Result<Day, EvalError> {
    o.at(index).ok_or_else(|| impossible(index, o))
}

pub(super) fn impossible(index: Day, o: crate::plan::Offset) -> EvalError {
    EvalError::ImpossibleDate {
        date: dates::format_iso(index),
        sign: if o.months < 0 { '-' } else { '+' },
        months: o.months.abs(),
    }
}

/// A window's bounds at `index` ([`Window::bounds_at`], the one place they are worked out),
/// or the error naming the end that is not a calendar day.
pub(super) fn bounds(index: Day, w: Window) -> Result<(Day, Day), EvalError> {
    w.bounds_at(index).ok_or_else(|| {
        let end = [w.start, w.end]
            .into_iter()
            .flatten()
            .find(|o| o.at(index).is_none());
        match end.map(|o| shift(index, o)) {
            Some(Err(e)) => e,
            _ => impossible(index, crate::plan::Offset { months: 0, days: 0 }),
        }
    })
}

/// Up to 64 index dates, ascending, and everything about them that does not depend on the
/// patient.
pub(super) struct Block {
    /// Number of lanes, and the mask of them.
    pub(super) n: usize,
    pub(super) full: Mask,
    /// Position of each lane's date in the caller's list of index dates.
    pub(super) date: [u32; LANES],
    pub(super) day: [Day; LANES],
    pub(super) ymd: [(i32, u32, u32); LANES],
    /// Per feature, the inclusive window bounds of each lane (non-decreasing over the lanes).
    pub(super) lo: Vec<[Day; LANES]>,
    pub(super) hi: Vec<[Day; LANES]>,
    /// Per program offset, its day at each lane.
    pub(super) offset_days: Vec<[Day; LANES]>,
}

/// Sort the dates into blocks of lanes, computing every window bound (in the caller's order
/// first, so the error reported for an impossible date does not depend on the sorting).
pub(super) fn blocks(
    plan: &Plan,
    program: &program::Program,
    index_dates: &[Day],
) -> Result<Vec<Block>, EvalError> {
    let mut per_date = Vec::with_capacity(index_dates.len());
    for &d in index_dates {
        let b: Vec<(Day, Day)> = plan
            .features
            .iter()
            .map(|f| bounds(d, f.window()))
            .collect::<Result<_, _>>()?;
        let o: Vec<Day> = program
            .offsets()
            .iter()
            .map(|&o| shift(d, o))
            .collect::<Result<_, _>>()?;
        per_date.push((b, o));
    }
    let mut order: Vec<usize> = (0..index_dates.len()).collect();
    order.sort_by_key(|&i| index_dates[i]);
    let blocks: Vec<Block> = order
        .chunks(LANES)
        .map(|chunk| {
            let mut b = Block {
                n: chunk.len(),
                full: below(chunk.len()),
                date: [0; LANES],
                day: [0; LANES],
                ymd: [(0, 0, 0); LANES],
                lo: vec![[0; LANES]; plan.features.len()],
                hi: vec![[0; LANES]; plan.features.len()],
                offset_days: vec![[0; LANES]; program.offsets().len()],
            };
            for (l, &i) in chunk.iter().enumerate() {
                b.date[l] = i as u32;
                b.day[l] = index_dates[i];
                b.ymd[l] = dates::to_ymd(index_dates[i]);
                for (f, &(lo, hi)) in per_date[i].0.iter().enumerate() {
                    b.lo[f][l] = lo;
                    b.hi[f][l] = hi;
                }
                for (k, &d) in per_date[i].1.iter().enumerate() {
                    b.offset_days[k][l] = d;
                }
            }
            // The sweeps over hit lists rely on this.
            debug_assert!(b
                .lo
                .iter()
                .chain(&b.hi)
                .all(|x| x[..b.n].windows(2).all(|w| w[0] <= w[1])));
            b
        })
        .collect();
    Ok(blocks)
}

/// The current registration at each lane (start ≤ I < end): latest start, then latest end
/// (ongoing counts as latest), then the first of the patient's rows (the lowest
/// `registration_id`, or the first in the file without that column; `extract/patients.rs`). Returns the registered lanes; the
/// practice of each is written to `practice` (`best` is scratch space).
pub(super) fn current_practices(
    ex: &Extract,
    p: usize,
    b: &Block,
    best: &mut [usize; LANES],
    practice: &mut [u32; LANES],
) -> Mask {
    let r = &ex.registrations;
    let days = &b.day[..b.n];
    let mut registered: Mask = 0;
    for i in r.offsets[p]..r.offsets[p + 1] {
        // Lanes are ascending, so the lanes where registration i is current are a range.
        let from = days.partition_point(|&d| d < r.start[i]);
        let to = if r.end[i] == NO_DATE {
            b.n
        } else {
            days.partition_point(|&d| d < r.end[i])
        };
        let range = below(to) & !below(from);
        for l in lanes(range & !registered) {
            best[l] = i;
        }
        for l in lanes(range & registered) {
            if (r.start[best[l]], r.end[best[l]]) < (r.start[i], r.end[i]) {
                best[l] = i;
            }
        }
        registered |= range;
    }
    for l in lanes(registered) {
        practice[l] = r.practice[best[l]];
    }
    registered
}

/// The lanes below `n` (n ≤ 64).
pub(super) fn below(n: usize) -> Mask {
    if n >= LANES {
        !0
    } else {
        (1 << n) - 1
    }
}
