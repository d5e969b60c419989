//! One value at a time, as every reader of the loader needs it: digit strings, numbers,
//! patient ids and codes.
//!
//! The exact validators, the batch fast pass and the CSV line scanner all parse the same
//! values the same way; these helpers live here, below all of them, so that no reader imports
//! another for them and a value means the same thing on every path.

use rustc_hash::FxHashMap;

/// Codes are digit strings; one of at most 18 digits without a leading zero maps one-to-one
/// to its value, so the fixed-set lookup hashes a `u64` instead of a string (other codes take
/// the string path). This is a key, never arithmetic: codes stay strings everywhere else.
#[inline]
fn digit_key(s: &str) -> Option<u64> {
    if s.starts_with('0') {
        return None;
    }
    digits(s)
}

/// The value of 1 to 18 ASCII digits and nothing else (so it always fits, in `i64` too).
#[inline]
pub(super) fn digits(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 18 {
        return None;
    }
    let mut v = 0u64;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + d as u64;
    }
    Some(v)
}

/// `numeric_value` text: a finite number in plain or exponent notation.
pub(super) fn parse_number(s: &str) -> Option<f64> {
    let ok = s
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    match s.parse::<f64>() {
        Ok(x) if ok && x.is_finite() => Some(x),
        _ => None,
    }
}

pub(super) fn parse_id(s: &str) -> Result<i64, &'static str> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty value");
    }
    if t.starts_with('-') && t[1..].bytes().all(|b| b.is_ascii_digit()) && t.len() > 1 {
        return Err("negative id");
    }
    if !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a whole number");
    }
    t.parse::<i64>()
        .map_err(|_| "id too large (the limit is 9223372036854775807)")
}

/// A fixed code set: digit codes by value, anything else by string.
pub(super) struct FixedCodes {
    by_key: FxHashMap<u64, u32>,
    by_str: FxHashMap<String, u32>,
}

impl FixedCodes {
    pub(super) fn new(ids: &FxHashMap<String, u32>) -> FixedCodes {
        let mut f = FixedCodes {
            by_key: FxHashMap::default(),
            by_str: FxHashMap::default(),
        };
        for (code, &id) in ids {
            match digit_key(code) {
                Some(k) => f.by_key.insert(k, id),
                None => f.by_str.insert(code.clone(), id),
            };
        }
        f
    }
    #[inline]
    pub(super) fn get(&self, code: &str) -> Option<u32> {
        match digit_key(code) {
            Some(k) => self.by_key.get(&k).copied(),
            None => self.by_str.get(code).copied(),
        }
    }
}

/// Interns every code string (the loader without a keep set).
#[derive(Default)]
pub(super) struct CodeDict {
    ids: FxHashMap<String, u32>,
    pub(super) codes: Vec<String>,
}

impl CodeDict {
    pub(super) fn get(&mut self, code: &str) -> u32 {
        if let Some(&id) = self.ids.get(code) {
            return id;
        }
        let id = self.codes.len() as u32;
        self.codes.push(code.to_string());
        self.ids.insert(code.to_string(), id);
        id
    }
}

/// `patient_id` → dense index. Ids are usually dense integers, so a direct table (one
/// 4-byte slot per id up to the largest) replaces hashing on every event row; sparse ids fall
/// back to a hash map.
pub(super) struct PatientIndex {
    direct: Vec<u32>,
    /// One bit per id of `direct`: whether the id is a patient. A row's patient must be known
    /// even when the row is dropped; this answers that from a table 32 times smaller than
    /// `direct` (it stays in cache), leaving the full lookup to kept rows.
    known: Vec<u64>,
    map: FxHashMap<i64, u32>,
    pub(super) len: usize,
}

impl PatientIndex {
    pub(super) fn new(ids: &[i64]) -> PatientIndex {
        let max = ids.iter().copied().max().unwrap_or(0);
        if max >= 0 && (max as u64) < 16 * ids.len() as u64 + 1024 {
            let mut direct = vec![u32::MAX; max as usize + 1];
            let mut known = vec![0u64; (max as usize + 1).div_ceil(64)];
            for (i, &id) in ids.iter().enumerate() {
                direct[id as usize] = i as u32;
                known[id as usize / 64] |= 1 << (id % 64);
            }
            PatientIndex {
                direct,
                known,
                map: FxHashMap::default(),
                len: ids.len(),
            }
        } else {
            let map = ids
                .iter()
                .enumerate()
                .map(|(i, &id)| (id, i as u32))
                .collect();
            PatientIndex {
                direct: Vec::new(),
                known: Vec::new(),
                map,
                len: ids.len(),
            }
        }
    }

    #[inline]
    pub(super) fn get(&self, id: i64) -> Option<u32> {
        if self.direct.is_empty() {
            return self.map.get(&id).copied();
        }
        self.direct
            .get(usize::try_from(id).ok()?)
            .copied()
            .filter(|&p| p != u32::MAX)
    }

    /// Whether `id` is a patient (`get(id).is_some()`, cheaper).
    #[inline]
    pub(super) fn contains(&self, id: i64) -> bool {
        if self.direct.is_empty() {
            return self.map.contains_key(&id);
        }
        match usize::try_from(id) {
            Ok(i) => self
                .known
                .get(i / 64)
                .is_some_and(|w| w & (1 << (i % 64)) != 0),
            Err(_) => false,
        }
    }
}
