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

/// The codes worth keeping for one table, with their date spans.
pub(super) struct KeepSet {
    pub(super) lookup: FixedCodes,
    pub(super) codes: Vec<String>,
    /// Inclusive date span per code id.
    spans: Vec<(Day, Day)>,
}

impl KeepSet {
    pub(super) fn new(list: &[KeepCode]) -> KeepSet {
        let mut merged: FxHashMap<&str, (Day, Day)> = FxHashMap::default();
        for k in list {
            let e = merged.entry(k.code.trim()).or_insert((k.from, k.to));
            *e = (e.0.min(k.from), e.1.max(k.to));
        }
        let mut codes: Vec<(&str, (Day, Day))> = merged.into_iter().collect();
        codes.sort_unstable();
        let ids: FxHashMap<String, u32> = codes
            .iter()
            .enumerate()
            .map(|(i, (c, _))| (c.to_string(), i as u32))
            .collect();
        KeepSet {
            lookup: FixedCodes::new(&ids),
            spans: codes.iter().map(|(_, s)| *s).collect(),
            codes: codes.into_iter().map(|(c, _)| c.to_string()).collect(),
        }
    }

    #[inline]
    pub(super) fn keeps(&self, code: u32, day: Day) -> bool {
        let (lo, hi) = self.spans[code as usize];
        lo <= day && day <= hi
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
