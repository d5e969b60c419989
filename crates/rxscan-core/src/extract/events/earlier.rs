//! Each patient's latest row before a feature's window, for evidence's "last row before the
//! window": found piece by piece and set apart from the rows counting reads.
//!
//! A scan with evidence asks the loader, for each feature whose absence can decide a
//! condition, for each patient's latest row of the feature's codes dated before the feature's
//! own rows (before the start of its window at the first scanned date), however old
//! ([`KeepCode::latest_before`](crate::extract::KeepCode::latest_before); the feature is the
//! row's *group*). Each piece gathers its candidates, the rows of a group's codes dated before
//! that day (kept for counting or not: a code read by two features is counted from the
//! earlier one's day), and keeps the latest per patient and group, the first in input order
//! among rows of its day, in its [`Piece::earlier`]; the other candidates not kept for
//! counting are dropped. The latest row of a group over the whole table is then among the
//! rows set apart, whichever piece it was in, and rows of the group from its day on are all
//! kept for counting: together they give the last row before the window at every scanned
//! date, exactly, with the tie-break of the input's order. The loader holds at most one such
//! row per patient, group and piece, not the record, and the evaluator, which reads only the
//! rows kept for counting, does no more work. The pieces' earlier rows are not grouped: only
//! the flagged patients' are, when evidence is traced
//! ([`EarlierRows`](crate::extract::EarlierRows)).
//!
//! Only the patients the keep set admits have candidates ([`KeepSet::admits`]: every patient,
//! or under [`LoadOptions::history_gate`](crate::extract::LoadOptions::history_gate) those who
//! can be flagged, a few in ten).
//!
//! Two ways in: the Parquet page reader and the fast pass gather candidates as they decide
//! whether counting keeps a row (`(row, patient)` where [`KeepSet::is_candidate`] and
//! admitted), then call [`latest`]; the CSV scanner and the exact validators keep every
//! candidate with the counted rows and split them after ([`Piece::set_earlier_apart`]).

use std::cell::RefCell;

use super::piece::{KeptColumns, Piece};
use super::table::{KeepSet, MANY_GROUPS};
use crate::dates::Day;
use crate::extract::model::{EarlierRows, Rows};

/// The latest candidate per patient and group of one piece, in per-thread arrays reused piece
/// by piece: a patient's slot is valid when its stamp is the piece's (so nothing is cleared
/// between pieces), and holds one [`key`] per group; `owners` lists the slots' patients in
/// order. A few instructions per candidate, the latest kept by a branchless `max`, where a
/// hash map cost about ten times as many (callgrind, 100k patients).
#[derive(Default)]
struct Latest {
    /// Per patient index: (stamp, slot).
    slots: Vec<(u32, u32)>,
    piece: u32,
    best: Vec<u64>,
    owners: Vec<u32>,
}

/// A candidate's rank: its day, then its position reversed, so that the greatest key is the
/// latest row, the first in input order among rows of its day. Never 0 (the day is biased so
/// that `Day::MIN`, before every date, is 0): 0 is an entry with no row yet.
#[inline(always)]
fn key(day: Day, at: u32) -> u64 {
    (u64::from(day as u32 ^ 0x8000_0000) << 32) | u64::from(!at)
}

/// The position of the row of a [`key`].
#[inline(always)]
fn position(key: u64) -> u32 {
    !(key as u32)
}

/// Marks a row's patient index (patient indexes stay below it) as some patient's and group's
/// latest while a piece built row by row is split.
const LATEST_ROW: u32 = 1 << 31;

impl Latest {
    /// The winners among `candidates` (`(row, patient)` in row order, each
    /// [`KeepSet::is_candidate`]; `code` and `day` by row): `(row, patient)`, grouped by
    /// patient, each patient's in row order, each row once (a row can be the latest of several
    /// groups).
    fn thin(
        &mut self,
        keep: &KeepSet,
        candidates: &[(u32, u32)],
        code: &[u32],
        day: &[Day],
    ) -> Vec<(u32, u32)> {
        if !keep.has_history() {
            return Vec::new();
        }
        let groups = keep.n_groups();
        self.piece = self.piece.wrapping_add(1);
        if self.piece == 0 {
            // The stamps wrapped around: forget them all.
            self.slots.iter_mut().for_each(|s| s.0 = 0);
            self.piece = 1;
        }
        self.best.clear();
        self.owners.clear();
        let patients = candidates
            .iter()
            .map(|c| c.1)
            .max()
            .map_or(0, |p| p as usize + 1);
        if self.slots.len() < patients {
            self.slots.resize(patients, (0, 0));
        }
        let n = code.len().min(day.len());
        let (code, day) = (&code[..n], &day[..n]);
        for &(at, p) in candidates {
            let (c, d) = (code[at as usize], day[at as usize]);
            let (stamp, slot) = &mut self.slots[p as usize];
            if *stamp != self.piece {
                *stamp = self.piece;
                *slot = self.best.len() as u32;
                self.best.extend(std::iter::repeat_n(0, groups));
                self.owners.push(p);
            }
            let slot = *slot as usize;
            let k = key(d, at);
            match keep.group_of(c) {
                MANY_GROUPS => {
                    for &(g, before) in keep.groups(c) {
                        if d < before {
                            let b = &mut self.best[slot + g as usize];
                            *b = (*b).max(k);
                        }
                    }
                }
                g => {
                    let b = &mut self.best[slot + g as usize];
                    *b = (*b).max(k);
                }
            }
        }
        let mut out = Vec::with_capacity(self.owners.len());
        let mut mine = Vec::with_capacity(groups);
        for (slot, &p) in self.best.chunks_exact(groups).zip(&self.owners) {
            mine.clear();
            mine.extend(slot.iter().filter(|&&k| k != 0).map(|&k| position(k)));
            mine.sort_unstable();
            mine.dedup();
            out.extend(mine.iter().map(|&at| (at, p)));
        }
        out
    }
}

thread_local! {
    static LATEST: RefCell<Latest> = RefCell::new(Latest::default());
}

/// Each patient's and group's latest among `candidates` (`(row, patient)` in row order, each
/// [`KeepSet::is_candidate`]), as `(row, patient)`: grouped by patient, each patient's rows in
/// row order, each row once. For the Parquet page reader and the fast pass, which gather
/// candidates as they read.
pub(super) fn latest(
    keep: &KeepSet,
    candidates: &[(u32, u32)],
    code: &[u32],
    day: &[Day],
) -> Vec<(u32, u32)> {
    if candidates.is_empty() {
        return Vec::new();
    }
    LATEST.with(|l| l.borrow_mut().thin(keep, candidates, code, day))
}

impl Piece {
    /// Set `rows` (`(row, patient)` of `cols`, from [`latest`]) apart in [`Piece::earlier`].
    pub(super) fn set_earlier(
        &mut self,
        keep: &KeepSet,
        rows: &[(u32, u32)],
        cols: &KeptColumns<'_>,
        events: bool,
    ) {
        if !rows.is_empty() {
            self.earlier_only = rows
                .iter()
                .filter(|&&(i, _)| !keep.keeps(cols.code[i as usize], cols.day[i as usize]))
                .count();
            let mut e = Rows::default();
            e.fill(rows, cols, events);
            self.earlier = Some(Box::new(e));
        }
    }

    /// For a piece built row by row from every row counting keeps and every candidate (the
    /// CSV scanner's, the exact validators': [`KeepSet::keeps_any`]): set each patient's and
    /// group's latest candidate apart in [`Piece::earlier`] and keep only the rows counting
    /// keeps.
    pub(super) fn set_earlier_apart(&mut self, keep: &KeepSet) {
        if !keep.has_history() {
            return;
        }
        let rows = &mut self.rows;
        let candidates: Vec<(u32, u32)> = (0..rows.patient.len())
            .filter(|&j| {
                keep.is_candidate(rows.code[j], rows.day[j]) && keep.admits(rows.patient[j])
            })
            .map(|j| (j as u32, rows.patient[j]))
            .collect();
        for (at, _) in latest(keep, &candidates, &rows.code, &rows.day) {
            rows.patient[at as usize] |= LATEST_ROW;
        }
        let is_events = !rows.value.is_empty();
        let mut e = Rows::default();
        let mut w = 0;
        for r in 0..rows.patient.len() {
            let p = rows.patient[r] & !LATEST_ROW;
            let counted = keep.keeps(rows.code[r], rows.day[r]);
            if rows.patient[r] & LATEST_ROW != 0 {
                self.earlier_only += !counted as usize;
                e.patient.push(p);
                e.day.push(rows.day[r]);
                e.code.push(rows.code[r]);
                if is_events {
                    e.value.push(rows.value[r]);
                    e.comparator.push(rows.comparator[r]);
                }
            }
            if !counted {
                continue;
            }
            rows.patient[w] = p;
            rows.day[w] = rows.day[r];
            rows.code[w] = rows.code[r];
            if is_events {
                rows.value[w] = rows.value[r];
                rows.comparator[w] = rows.comparator[r];
            }
            w += 1;
        }
        rows.patient.truncate(w);
        rows.day.truncate(w);
        rows.code.truncate(w);
        if is_events {
            rows.value.truncate(w);
            rows.comparator.truncate(w);
        }
        if !e.patient.is_empty() {
            self.earlier = Some(Box::new(e));
        }
    }
}

impl Piece {
    /// The pieces' rows set apart ([`Piece::earlier`]), in input order, as a table's
    /// [`EarlierRows`] (moved, not copied); `None` when there are none.
    pub(super) fn earlier_rows(pieces: &mut [Piece], n_patients: usize) -> Option<EarlierRows> {
        let parts: Vec<Rows> = pieces
            .iter_mut()
            .filter_map(|p| p.earlier.take())
            .map(|e| *e)
            .collect();
        (!parts.is_empty()).then(|| EarlierRows::new(parts, n_patients))
    }
}
