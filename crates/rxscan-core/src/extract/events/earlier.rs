//! Each patient's latest row before a feature's window, for evidence's "last row before the
//! window": found piece by piece and set apart from the rows counting reads.
//!
//! A scan with evidence asks the loader, for each feature whose absence can decide a
//! condition, for each patient's latest row of the feature's codes dated before the feature's
//! own rows (before the start of its window at the first scanned date), however old
//! ([`KeepCode::latest_before`](crate::extract::KeepCode::latest_before); the feature is the
//! row's *group*). Each piece offers every row of a group's codes dated before that day (kept
//! for counting or not: a code read by two features is counted from the earlier one's day) and
//! keeps the latest per patient and group, the first in input order among rows of its day, in
//! its [`Piece::earlier`]; the other candidates not kept for counting are dropped. The latest
//! row of a group over the whole table is then among the rows set apart, whichever piece it
//! was in, and rows of the group from its day on are all kept for counting: together they give
//! the last row before the window at every scanned date, exactly, with the tie-break of the
//! input's order. The loader holds at most one such row per patient, group and piece, not the
//! record, and the evaluator, which reads only the rows kept for counting, does no more work.
//! The pieces' earlier rows are grouped into
//! [`EventTable::earlier`](crate::extract::EventTable::earlier).
//!
//! Two ways in: the Parquet page reader and the fast pass offer each row of a kept code as
//! they decide whether counting keeps it ([`Earlier::collect`]); the CSV scanner and the exact
//! validators keep every candidate with the counted rows and split them after
//! ([`Piece::set_earlier_apart`]).

use std::cell::RefCell;

use super::piece::{KeptColumns, Piece};
use super::table::{KeepSet, MANY_GROUPS};
use crate::dates::Day;

/// The latest candidate per patient and group of one piece, in per-thread arrays reused piece
/// by piece: a patient's slot is valid when its stamp is the piece's (so nothing is cleared
/// between pieces), and holds one `(day, at)` per group, `at` being the row's position in the
/// piece; `filled` lists the entries in use, so that the winners are found without a scan of
/// every slot. A few instructions per row, where a hash map cost about ten times as many
/// (callgrind, 100k patients).
#[derive(Default)]
struct Latest {
    /// Per patient index: (stamp, slot).
    slots: Vec<(u32, u32)>,
    piece: u32,
    groups: usize,
    best: Vec<(Day, u32)>,
    /// `(index into best, patient)` of each entry in use.
    filled: Vec<(u32, u32)>,
    /// The winners' positions, as a bitmap (all clear between pieces), and their patients by
    /// position: the winners come out in input order without a sort.
    won: Vec<u64>,
    won_by: Vec<u32>,
}

/// No row yet in a slot.
const NO_ROW: u32 = u32::MAX;

/// Marks a row's patient index (patient indexes stay below it) as some patient's and group's
/// latest while a piece built row by row is split.
const LATEST_ROW: u32 = 1 << 31;

impl Latest {
    fn start(&mut self, groups: usize) {
        self.piece = self.piece.wrapping_add(1);
        if self.piece == 0 {
            // The stamps wrapped around: forget them all.
            self.slots.iter_mut().for_each(|s| s.0 = 0);
            self.piece = 1;
        }
        self.groups = groups;
        self.best.clear();
        self.filled.clear();
    }

    /// Row `at` of `patient`, with `code` on `day`: a candidate for each group of its code
    /// whose day it precedes (`history`: [`KeepSet::history`]).
    #[inline(always)]
    fn offer(
        &mut self,
        keep: &KeepSet,
        history: &[(Day, u32)],
        patient: u32,
        code: u32,
        day: Day,
        at: u32,
    ) {
        let (before, group) = history[code as usize];
        if day >= before {
            return;
        }
        let p = patient as usize;
        if p >= self.slots.len() {
            self.slots.resize(p + 1, (0, 0));
        }
        let (stamp, slot) = &mut self.slots[p];
        if *stamp != self.piece {
            *stamp = self.piece;
            *slot = self.best.len() as u32;
            self.best
                .extend(std::iter::repeat_n((Day::MIN, NO_ROW), self.groups));
        }
        let slot = *slot as usize;
        let mut update = |g: u32| {
            let i = slot + g as usize;
            let b = &mut self.best[i];
            if b.1 == NO_ROW {
                *b = (day, at);
                self.filled.push((i as u32, patient));
            } else if day > b.0 {
                // Later rows replace only on a later day: the first of a day stays.
                *b = (day, at);
            }
        };
        match group {
            MANY_GROUPS => {
                for &(g, before) in keep.groups(code) {
                    if day < before {
                        update(g);
                    }
                }
            }
            g => update(g),
        }
    }

    /// The winners, `(at, patient)`, in the order of their positions, each once (a row can be
    /// the latest of several groups).
    fn in_order(&mut self) -> Vec<(u32, u32)> {
        let mut top = 0;
        for k in 0..self.filled.len() {
            let (i, patient) = self.filled[k];
            let at = self.best[i as usize].1 as usize;
            if at >= self.won_by.len() {
                self.won_by.resize(at + 1, 0);
                self.won.resize(at / 64 + 1, 0);
            }
            self.won[at / 64] |= 1 << (at % 64);
            self.won_by[at] = patient;
            top = top.max(at / 64 + 1);
        }
        let mut out = Vec::with_capacity(self.filled.len());
        for w in 0..top {
            let mut bits = std::mem::take(&mut self.won[w]);
            while bits != 0 {
                let at = w * 64 + bits.trailing_zeros() as usize;
                out.push((at as u32, self.won_by[at]));
                bits &= bits - 1;
            }
        }
        out
    }
}

thread_local! {
    static LATEST: RefCell<Latest> = RefCell::new(Latest::default());
}

/// Each patient's and group's latest candidate among the rows of a task or row group being
/// read (the Parquet page reader's and the fast pass's: they offer each row of a kept code as
/// they decide whether counting keeps it).
pub(super) struct Earlier<'a> {
    latest: &'a mut Latest,
    keep: &'a KeepSet,
    history: &'a [(Day, u32)],
}

impl Earlier<'_> {
    /// Run `read`, which offers the rows of kept codes (given `None` when the keep set keeps
    /// no history); returns the winners as `(row, patient)` in row order, each once.
    pub(super) fn collect(
        keep: &KeepSet,
        read: impl FnOnce(Option<&mut Earlier<'_>>),
    ) -> Vec<(u32, u32)> {
        let Some(history) = keep.history() else {
            read(None);
            return Vec::new();
        };
        LATEST.with(|l| {
            let latest = &mut *l.borrow_mut();
            latest.start(keep.n_groups());
            read(Some(&mut Earlier {
                latest,
                keep,
                history,
            }));
            latest.in_order()
        })
    }

    /// Row `row` of `patient`, with `code` on `day` (kept for counting or not).
    #[inline(always)]
    pub(super) fn offer(&mut self, row: u32, patient: u32, code: u32, day: Day) {
        self.latest
            .offer(self.keep, self.history, patient, code, day, row);
    }
}

impl Piece {
    /// Set `rows` (`(row, patient)` of `cols`, from [`Earlier::collect`]) apart in
    /// [`Piece::earlier`].
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
            let mut e = Piece::default();
            e.fill(rows, cols, events);
            self.earlier = Some(Box::new(e));
        }
    }

    /// For a piece built row by row from every row counting keeps and every candidate (the
    /// CSV scanner's, the exact validators': [`KeepSet::keeps_any`]): set each patient's and
    /// group's latest candidate apart in [`Piece::earlier`] and keep only the rows counting
    /// keeps.
    pub(super) fn set_earlier_apart(&mut self, keep: &KeepSet) {
        let Some(history) = keep.history() else {
            return;
        };
        LATEST.with(|l| {
            let l = &mut *l.borrow_mut();
            l.start(keep.n_groups());
            for j in 0..self.patient.len() {
                let (p, code, day) = (self.patient[j], self.code[j], self.day[j]);
                l.offer(keep, history, p, code, day, j as u32);
            }
            for (at, _) in l.in_order() {
                self.patient[at as usize] |= LATEST_ROW;
            }
        });
        let is_events = !self.value.is_empty();
        let mut e = Piece::default();
        let mut w = 0;
        for r in 0..self.patient.len() {
            let p = self.patient[r] & !LATEST_ROW;
            let counted = keep.keeps(self.code[r], self.day[r]);
            if self.patient[r] & LATEST_ROW != 0 {
                self.earlier_only += !counted as usize;
                e.patient.push(p);
                e.day.push(self.day[r]);
                e.code.push(self.code[r]);
                if is_events {
                    e.value.push(self.value[r]);
                    e.comparator.push(self.comparator[r]);
                }
            }
            if !counted {
                continue;
            }
            self.patient[w] = p;
            self.day[w] = self.day[r];
            self.code[w] = self.code[r];
            if is_events {
                self.value[w] = self.value[r];
                self.comparator[w] = self.comparator[r];
            }
            w += 1;
        }
        self.patient.truncate(w);
        self.day.truncate(w);
        self.code.truncate(w);
        if is_events {
            self.value.truncate(w);
            self.comparator.truncate(w);
        }
        if !e.patient.is_empty() {
            self.earlier = Some(Box::new(e));
        }
    }
}
