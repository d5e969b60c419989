//! A patient's rows, matched against the codelists: membership is a bitmask per distinct code
//! (decided once per code, never per row), and a patient's matching rows are gathered into a
//! day-sorted hit list per codelist, which the features then search.

use rustc_hash::FxHashMap;

use crate::dates::Day;
use crate::extract::{Comparator, EventTable};
use crate::plan::{Plan, Table};

/// Per-table codelist membership, decided once per distinct code.
pub(super) struct Membership {
    /// Bit words per code: `words` u64s for each code of the table's dictionary.
    pub(super) bits: Vec<u64>,
    pub(super) words: usize,
    /// Plan codelist index of each local bit.
    pub(super) global: Vec<usize>,
}

impl Membership {
    pub(super) fn new(plan: &Plan, table: &EventTable, t: Table) -> Membership {
        let global: Vec<usize> = plan
            .codelists
            .iter()
            .enumerate()
            .filter(|(_, c)| c.table == t)
            .map(|(i, _)| i)
            .collect();
        let words = global.len().div_ceil(64).max(1);
        let mut bits = vec![0u64; table.codes.len() * words];
        let index: FxHashMap<&str, usize> = table
            .codes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i))
            .collect();
        for (bit, &g) in global.iter().enumerate() {
            for code in &plan.codelists[g].codes {
                if let Some(&i) = index.get(code.as_str()) {
                    bits[i * words + bit / 64] |= 1 << (bit % 64);
                }
            }
        }
        Membership {
            bits,
            words,
            global,
        }
    }
}

/// One matching row: its day and its row index in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Hit {
    pub(super) day: Day,
    pub(super) row: u32,
}

/// Of the matching rows on a `latest` record's day (`same_day`, not empty), the one the
/// documented tie-break picks (docs/DATA-CONTRACT.md): the smallest `numeric_value` (a missing
/// value after every number), then the smallest comparator as text (missing = empty). Rows
/// equal on both are interchangeable to every formula (a record is read only for its date,
/// value and comparator). A rule on the columns, not on input order, so a SQL engine, which
/// has no input order, picks the same record.
pub(super) fn tie_break(table: &EventTable, same_day: &[Hit]) -> u32 {
    if same_day.len() == 1 || table.value.is_empty() {
        return same_day[0].row;
    }
    let key = |h: &Hit| {
        let v = table.value[h.row as usize];
        let c = Comparator::from_u8(table.comparator[h.row as usize]).as_str();
        (v.is_nan(), v, c)
    };
    let best = same_day.iter().min_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0)
            .then(ka.1.partial_cmp(&kb.1).unwrap_or(std::cmp::Ordering::Equal))
            .then(ka.2.cmp(kb.2))
    });
    best.map_or(same_day[0].row, |h| h.row)
}

#[inline]
pub(super) fn gather(table: &EventTable, m: &Membership, p: usize, hits: &mut [Vec<Hit>]) {
    for row in table.rows(p) {
        let base = table.code[row] as usize * m.words;
        for w in 0..m.words {
            let mut bits = m.bits[base + w];
            while bits != 0 {
                let bit = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                hits[m.global[w * 64 + bit]].push(Hit {
                    day: table.day[row],
                    row: row as u32,
                });
            }
        }
    }
}

/// Index range of hits with `lo <= day <= hi` in a list sorted by day.
#[inline]
pub(super) fn in_window(list: &[Hit], lo: Day, hi: Day) -> &[Hit] {
    let a = list.partition_point(|h| h.day < lo);
    let b = list.partition_point(|h| h.day <= hi);
    &list[a..b.max(a)]
}

/// Smallest |a - b| between two day-sorted lists is at most `gap`.
#[inline]
pub(super) fn within(a: &[Hit], b: &[Hit], gap: i32) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i].day, b[j].day);
        if (x as i64 - y as i64).abs() <= gap as i64 {
            return true;
        }
        if x < y {
            i += 1;
        } else {
            j += 1;
        }
    }
    false
}
