//! The event table being read, as every path sees it: what its columns are called
//! ([`RowShape`]), which of its rows to keep ([`KeepSet`]: codes with their date spans, the
//! predicate push-down), and where its rows come from, for messages ([`FrameCtx`]).

use std::path::Path;

use polars::prelude::*;
use rustc_hash::FxHashMap;

use crate::dates::Day;
use crate::extract::columns::Columns;
use crate::extract::options::KeepCode;
use crate::extract::source::{Format, Source};
use crate::extract::values::{FixedCodes, PatientIndex};

/// A code outside the keep set.
pub(super) const NOT_KEPT: u32 = u32::MAX;

/// The codes worth keeping for one table, with their date spans and history groups.
pub(super) struct KeepSet {
    pub(super) lookup: FixedCodes,
    pub(super) codes: Vec<String>,
    /// Per code id: the inclusive span of the dates kept for counting, and the day before
    /// which its rows are history candidates ([`Span::before`]).
    spans: Vec<Span>,
    /// [`KeepSet::spans`] from `Day::MIN` for a code in a history group (for the paths that
    /// keep history candidates with the others, then thin them: `earlier.rs`).
    spans_any: Vec<(Day, Day)>,
    /// Per code id: its one history group, or [`NO_GROUP`], or [`MANY_GROUPS`] for a code in
    /// several (see [`KeepSet::groups`]). Empty when no code has history.
    group: Vec<u32>,
    /// The history groups of code id `c` with their days: `groups[group_at[c]..group_at[c + 1]]`.
    group_at: Vec<u32>,
    groups: Vec<(u32, Day)>,
    /// Groups are numbered `0..n_groups`.
    n_groups: usize,
    /// Per patient index: whether the patient's history candidates are gathered
    /// ([`LoadOptions::history_gate`](crate::extract::LoadOptions::history_gate)).
    admitted: Vec<bool>,
}

/// What a code's rows are kept for, by date: counting from `lo` to `hi` (inclusive); as a
/// candidate for its history group's latest row before `before`, the start of the group's own
/// span ([`KeepCode::latest_before`]): `Day::MIN` for a code in no group (never a candidate),
/// `Day::MAX` for a code in several (every row, checked group by group). One read per row
/// answers both.
#[derive(Clone, Copy)]
pub(super) struct Span {
    pub(super) lo: Day,
    pub(super) hi: Day,
    pub(super) before: Day,
}

/// A code in no history group.
pub(super) const NO_GROUP: u32 = u32::MAX;
/// A code in several history groups: see [`KeepSet::groups`].
pub(super) const MANY_GROUPS: u32 = u32::MAX - 1;

impl KeepSet {
    /// The keep set of `list`, gathering history candidates of the patients `admitted` says
    /// (by patient index).
    pub(super) fn new(list: &[KeepCode], admitted: Vec<bool>) -> KeepSet {
        type Merged = (Day, Day, Vec<(u32, Day)>);
        let mut merged: FxHashMap<&str, Merged> = FxHashMap::default();
        let mut dense: FxHashMap<u32, u32> = FxHashMap::default();
        for k in list {
            let e = merged
                .entry(k.code.trim())
                .or_insert((k.from, k.to, Vec::new()));
            (e.0, e.1) = (e.0.min(k.from), e.1.max(k.to));
            if let Some(g) = k.latest_before {
                // Groups numbered densely, in order of first appearance.
                let next = dense.len() as u32;
                let g = *dense.entry(g).or_insert(next);
                match e.2.iter_mut().find(|(h, _)| *h == g) {
                    Some((_, before)) => *before = (*before).min(k.from),
                    None => e.2.push((g, k.from)),
                }
            }
        }
        let mut codes: Vec<(&str, Merged)> = merged.into_iter().collect();
        codes.sort_unstable();
        let ids: FxHashMap<String, u32> = codes
            .iter()
            .enumerate()
            .map(|(i, (c, _))| (c.to_string(), i as u32))
            .collect();
        let any_history = codes.iter().any(|(_, s)| !s.2.is_empty());
        let mut group_at = vec![0u32];
        let mut groups = Vec::new();
        for (_, (_, _, g)) in &codes {
            groups.extend_from_slice(g);
            group_at.push(groups.len() as u32);
        }
        KeepSet {
            lookup: FixedCodes::new(&ids),
            spans: codes
                .iter()
                .map(|(_, (lo, hi, g))| Span {
                    lo: *lo,
                    hi: *hi,
                    before: match g[..] {
                        [] => Day::MIN,
                        [(_, before)] => before,
                        _ => Day::MAX,
                    },
                })
                .collect(),
            spans_any: codes
                .iter()
                .map(|(_, (from, to, g))| (if g.is_empty() { *from } else { Day::MIN }, *to))
                .collect(),
            group: match any_history {
                true => codes
                    .iter()
                    .map(|(_, (_, _, g))| match g[..] {
                        [] => NO_GROUP,
                        [(one, _)] => one,
                        _ => MANY_GROUPS,
                    })
                    .collect(),
                false => Vec::new(),
            },
            group_at,
            groups,
            n_groups: dense.len(),
            admitted,
            codes: codes.into_iter().map(|(c, _)| c.to_string()).collect(),
        }
    }

    /// Whether a row with `code` on `day` is kept for counting.
    #[inline]
    pub(super) fn keeps(&self, code: u32, day: Day) -> bool {
        let s = self.spans[code as usize];
        s.lo <= day && day <= s.hi
    }

    /// Per code id, what its rows are kept for ([`Span`]: counting, history).
    #[inline]
    pub(super) fn spans(&self) -> &[Span] {
        &self.spans
    }

    /// Whether a row is kept for counting or may be a history candidate (thinned after:
    /// `earlier.rs`).
    #[inline]
    pub(super) fn keeps_any(&self, code: u32, day: Day) -> bool {
        let (lo, hi) = self.spans_any[code as usize];
        lo <= day && day <= hi
    }

    /// Whether a row with `code` on `day` may be a group's latest before its day (`earlier.rs`:
    /// dated before the day of one of its code's groups; never when no code has history).
    #[inline]
    pub(super) fn is_candidate(&self, code: u32, day: Day) -> bool {
        day < self.spans[code as usize].before
    }

    /// Whether patient index `p`'s history candidates are gathered (never an orphan's).
    #[inline]
    pub(super) fn admits(&self, p: u32) -> bool {
        self.admitted.get(p as usize).copied().unwrap_or(false)
    }

    /// Whether any code has history (rows kept as candidates for `earlier.rs`).
    pub(super) fn has_history(&self) -> bool {
        !self.group.is_empty()
    }

    /// The one history group of code id `code` ([`MANY_GROUPS`] for a code in several:
    /// [`KeepSet::groups`]), when [`KeepSet::has_history`].
    #[inline]
    pub(super) fn group_of(&self, code: u32) -> u32 {
        self.group[code as usize]
    }

    /// How many history groups there are (numbered from 0).
    pub(super) fn n_groups(&self) -> usize {
        self.n_groups
    }

    /// The history groups of code id `code`, each with the day before which its rows are
    /// candidates.
    #[inline]
    pub(super) fn groups(&self, code: u32) -> &[(u32, Day)] {
        let c = code as usize;
        &self.groups[self.group_at[c] as usize..self.group_at[c + 1] as usize]
    }
}

/// What an event table's columns are called and which it has.
pub(super) struct RowShape<'a> {
    pub(super) code_col: &'a str,
    pub(super) is_events: bool,
    pub(super) has_comparator: bool,
}

/// What a batch's rows need besides the frame: where they came from, for messages.
pub(super) struct FrameCtx<'a> {
    pub(super) path: &'a Path,
    pub(super) format: Format,
    pub(super) columns: &'a Columns,
    pub(super) shape: &'a RowShape<'a>,
    pub(super) index: &'a PatientIndex,
}

impl FrameCtx<'_> {
    /// `len` rows of `frame` from `start`, the frame's first row being row `offset` of the file.
    pub(super) fn source(
        &self,
        start: usize,
        len: usize,
        frame: &DataFrame,
        offset: usize,
    ) -> Source {
        Source {
            path: self.path.to_path_buf(),
            format: self.format,
            header: self.columns.header.clone(),
            file_header: self.columns.file_header.clone(),
            dates: self.columns.date_format.clone(),
            frame: frame.slice(start as i64, len),
            row_offset: offset + start,
        }
    }
}
