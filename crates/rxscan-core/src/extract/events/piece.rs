//! What every path produces, and how it becomes an [`EventTable`].
//!
//! A [`Piece`] holds the kept rows of one task, chunk or row group, in input order. Pieces are
//! not concatenated: [`group`] counting-sorts their rows by patient straight into the final
//! columns, each thread owning a range of patients and walking every piece in order, so the
//! sort is stable (rows of one patient keep their input order, so a load is reproducible).

use rayon::prelude::*;

use crate::dates::Day;
use crate::extract::model::{EventTable, ReadPaths, Rows};

/// The rows of one task that survive, in input order.
#[derive(Default)]
pub(super) struct Piece {
    /// The rows counting keeps (patients as dense indices).
    pub(super) rows: Rows,
    pub(super) orphans: usize,
    pub(super) first_orphan: Option<(i64, usize)>,
    /// Each patient's latest rows before a feature's span, set apart for evidence
    /// (`earlier.rs`), and how many of them counting does not also keep.
    pub(super) earlier: Option<Box<Rows>>,
    pub(super) earlier_only: usize,
}

/// A task's or row group's columns, one entry per row (`comparator` may be empty).
pub(super) struct KeptColumns<'a> {
    pub(super) day: &'a [Day],
    pub(super) code: &'a [u32],
    pub(super) value: &'a [f64],
    pub(super) comparator: &'a [u8],
}

impl Rows {
    /// Append the `kept` rows, each column allocated once at its final size (growing them row
    /// by row made the kernel zero each doubling's fresh pages: a third of a 60-date scan).
    pub(super) fn fill(&mut self, kept: &[(u32, u32)], cols: &KeptColumns<'_>, is_events: bool) {
        let rows = || kept.iter().map(|&(i, _)| i as usize);
        self.patient.extend(kept.iter().map(|&(_, p)| p));
        self.day.extend(rows().map(|i| cols.day[i]));
        self.code.extend(rows().map(|i| cols.code[i]));
        if is_events {
            self.value.extend(rows().map(|i| cols.value[i]));
            self.comparator
                .extend(rows().map(|i| cols.comparator.get(i).copied().unwrap_or(0)));
        }
    }

    /// Empty every column, keeping its capacity.
    pub(super) fn clear(&mut self) {
        self.patient.clear();
        self.day.clear();
        self.code.clear();
        self.value.clear();
        self.comparator.clear();
    }

    /// Release the capacity of rows dropped after the piece was built.
    pub(super) fn shrink_to_fit(&mut self) {
        self.patient.shrink_to_fit();
        self.day.shrink_to_fit();
        self.code.shrink_to_fit();
        self.value.shrink_to_fit();
        self.comparator.shrink_to_fit();
    }
}

impl Piece {
    /// Input rows kept, for counting or set apart (each once).
    pub(super) fn kept(&self) -> usize {
        self.rows.patient.len() + self.earlier_only
    }
}

/// A whole table read by a direct path (Parquet row groups, CSV chunks): its pieces in input
/// order, the rows read, and which paths read them.
pub(super) struct TablePieces {
    pub(super) pieces: Vec<Piece>,
    pub(super) rows: usize,
    pub(super) read_by: ReadPaths,
}

/// Counting sort of the pieces' rows by patient into one [`EventTable`] (codes, rows_read
/// left for the caller). Threads own contiguous patient ranges of about equal row counts and
/// each walks every piece in input order, so the sort is stable.
pub(super) fn group(pieces: &[Piece], n: usize, is_events: bool) -> EventTable {
    let mut offsets = vec![0usize; n + 1];
    for piece in pieces {
        for &p in &piece.rows.patient {
            offsets[p as usize + 1] += 1;
        }
    }
    for i in 0..n {
        offsets[i + 1] += offsets[i];
    }
    let total = offsets[n];
    let mut code = vec![0u32; total];
    let mut day = vec![0 as Day; total];
    let mut value = vec![0f64; if is_events { total } else { 0 }];
    let mut comparator = vec![0u8; if is_events { total } else { 0 }];

    let parts = rayon::current_num_threads().clamp(1, 64);
    // Patient boundaries at about equal row counts.
    let mut bounds = vec![0usize];
    for k in 1..parts {
        let target = total * k / parts;
        let b = offsets.partition_point(|&o| o < target).min(n);
        bounds.push(b.max(*bounds.last().unwrap_or(&0)));
    }
    bounds.push(n);
    struct Part<'a> {
        patients: (usize, usize),
        code: &'a mut [u32],
        day: &'a mut [Day],
        value: &'a mut [f64],
        comparator: &'a mut [u8],
    }
    let mut work: Vec<Part<'_>> = Vec::new();
    {
        let (mut code, mut day, mut value, mut comparator) = (
            &mut code[..],
            &mut day[..],
            &mut value[..],
            &mut comparator[..],
        );
        for w in bounds.windows(2) {
            let rows = offsets[w[1]] - offsets[w[0]];
            let vrows = if is_events { rows } else { 0 };
            let (c, rest_c) = code.split_at_mut(rows);
            let (d, rest_d) = day.split_at_mut(rows);
            let (v, rest_v) = value.split_at_mut(vrows);
            let (k, rest_k) = comparator.split_at_mut(vrows);
            work.push(Part {
                patients: (w[0], w[1]),
                code: c,
                day: d,
                value: v,
                comparator: k,
            });
            (code, day, value, comparator) = (rest_c, rest_d, rest_v, rest_k);
        }
    }
    work.into_par_iter().for_each(|part| {
        let (a, b) = part.patients;
        if a == b {
            return;
        }
        let base = offsets[a];
        let mut next: Vec<usize> = offsets[a..b].iter().map(|&o| o - base).collect();
        for piece in pieces {
            let rows = &piece.rows;
            for (k, &p) in rows.patient.iter().enumerate() {
                let p = p as usize;
                if p < a || p >= b {
                    continue;
                }
                let at = next[p - a];
                next[p - a] += 1;
                part.code[at] = rows.code[k];
                part.day[at] = rows.day[k];
                if is_events {
                    part.value[at] = rows.value[k];
                    part.comparator[at] = rows.comparator[k];
                }
            }
        }
    });
    EventTable {
        offsets,
        code,
        day,
        value,
        comparator,
        codes: Vec::new(),
        ..EventTable::default()
    }
}
