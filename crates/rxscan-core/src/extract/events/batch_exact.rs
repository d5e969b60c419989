//! The exact path over rows that polars read: every column through the exact validators of
//! `source.rs`, then the rows kept by the keep set or, without one, every code interned.
//!
//! Every path's doubts end here, so the problem named is chosen by a rule that does not depend
//! on how the rows were cut: the one on the earliest row (on one row, the first column in the
//! order below). Whichever path ran, the same file names the same problem.

use super::piece::Piece;
use super::table::{KeepSet, RowShape};
use crate::extract::error::{ExtractError, Location};
use crate::extract::model::Comparator;
use crate::extract::source::Source;
use crate::extract::values::{CodeDict, PatientIndex};

/// The exact path: the column validators of `source.rs`, which name the first bad value.
/// Keeps rows by the keep set, or interns every code into `dict`.
pub(super) fn exact(
    src: &Source,
    shape: &RowShape<'_>,
    index: &PatientIndex,
    keep: Option<&KeepSet>,
    mut dict: Option<&mut CodeDict>,
) -> Result<Piece, ExtractError> {
    // Every column is validated, and the problem reported is the one on the earliest row (on
    // one row, the first column in this order). A rule that does not depend on how the rows
    // were cut into batches, so every path names the same problem.
    let mut first: Option<ExtractError> = None;
    let mut note = |e: ExtractError| {
        if first.as_ref().is_none_or(|f| row_of(&e) < row_of(f)) {
            first = Some(e);
        }
    };
    let ids = src.ids("patient_id").map_err(&mut note).ok();
    let day = src.dates("date", false).map_err(&mut note).ok();
    let codes = src.strings(shape.code_col).map_err(&mut note).ok();
    let (value, comparator) = if shape.is_events {
        let v = src.numbers("numeric_value").map_err(&mut note).ok();
        let c = if shape.has_comparator {
            src.strings("comparator")
                .map_err(&mut note)
                .ok()
                .and_then(|col| {
                    let mut out = Vec::with_capacity(src.frame.height());
                    for (i, c) in col.iter().enumerate() {
                        match Comparator::parse(c.trim()) {
                            Some(v) => out.push(v as u8),
                            None => {
                                note(src.bad(
                                    i,
                                    "comparator",
                                    "unknown comparator",
                                    c,
                                    "one of ~ = >= > < <= or empty",
                                ));
                                return None;
                            }
                        }
                    }
                    Some(out)
                })
        } else {
            Some(vec![0; src.frame.height()])
        };
        (v, c)
    } else {
        (Some(Vec::new()), Some(Vec::new()))
    };
    if let Some(i) = codes
        .as_ref()
        .and_then(|c| c.iter().position(|c| c.trim().is_empty()))
    {
        note(src.bad(i, shape.code_col, "empty code", "", "a code"));
    }
    let (ids, day, codes, value, comparator) = match (first, ids, day, codes, value, comparator) {
        (None, Some(ids), Some(day), Some(codes), Some(value), Some(comparator)) => {
            (ids, day, codes, value, comparator)
        }
        (Some(e), ..) => return Err(e),
        _ => {
            return Err(ExtractError::Invalid {
                path: src.path.clone(),
                message: "a column failed validation without saying why (a bug in rxscan)"
                    .to_string(),
            })
        }
    };
    let mut piece = Piece::default();
    for (i, c) in codes.iter().enumerate() {
        let c = c.trim();
        let Some(p) = index.get(ids[i]) else {
            piece.orphans += 1;
            if piece.first_orphan.is_none() {
                piece.first_orphan = Some((ids[i], src.row_offset + i));
            }
            continue;
        };
        let code = match (keep, dict.as_mut()) {
            (Some(k), _) => match k.lookup.get(c) {
                Some(code) if k.keeps_any(code, day[i]) => code,
                _ => continue,
            },
            (None, Some(d)) => d.get(c),
            (None, None) => continue,
        };
        piece.rows.patient.push(p);
        piece.rows.day.push(day[i]);
        piece.rows.code.push(code);
        if shape.is_events {
            piece.rows.value.push(value[i]);
            piece.rows.comparator.push(comparator[i]);
        }
    }
    if let Some(k) = keep {
        piece.set_earlier_apart(k);
        piece.rows.shrink_to_fit();
    }
    Ok(piece)
}

/// Where a validation error is, for choosing the earliest (errors about a whole column first).
fn row_of(e: &ExtractError) -> usize {
    match e {
        ExtractError::BadValue(b) => match b.location {
            Location::Line(n) | Location::Row(n) => n,
        },
        ExtractError::Malformed { location, .. } => match location {
            Location::Line(n) | Location::Row(n) => *n,
        },
        _ => 0,
    }
}
