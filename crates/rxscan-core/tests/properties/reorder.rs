//! Reordering an extract's rows: a full shuffle, or patients interleaved with each patient's
//! rows kept in order; and whether an order may legitimately change a result.

use std::collections::{BTreeMap, VecDeque};

use crate::reference::RawExtract;

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// Every table in a random order.
pub fn shuffle_all(raw: &mut RawExtract, seed: u64) {
    let mut rng = SplitMix(seed);
    rng.shuffle(&mut raw.patients);
    rng.shuffle(&mut raw.registrations);
    rng.shuffle(&mut raw.medications);
    rng.shuffle(&mut raw.clinical_events);
}

/// Patients' rows interleaved at random, each patient's rows kept in their order.
fn interleave<T>(v: &mut Vec<T>, patient: impl Fn(&T) -> i64, rng: &mut SplitMix) {
    let mut keys: Vec<i64> = v.iter().map(&patient).collect();
    rng.shuffle(&mut keys);
    let mut queues: BTreeMap<i64, VecDeque<T>> = BTreeMap::new();
    for row in v.drain(..) {
        queues.entry(patient(&row)).or_default().push_back(row);
    }
    for k in keys {
        v.push(
            queues
                .get_mut(&k)
                .and_then(VecDeque::pop_front)
                .expect("one row per key"),
        );
    }
}

pub fn interleave_all(raw: &mut RawExtract, seed: u64) {
    let mut rng = SplitMix(seed);
    rng.shuffle(&mut raw.patients);
    interleave(&mut raw.registrations, |r| r.patient_id, &mut rng);
    interleave(&mut raw.medications, |r| r.patient_id, &mut rng);
    interleave(&mut raw.clinical_events, |r| r.patient_id, &mut rng);
}

/// Whether the order of rows may legitimately change a result: two clinical events of a
/// patient on one day with different values or comparators (`latest` takes the first in input
/// order), or two registrations with the same start and end at different practices.
pub fn order_sensitive(raw: &RawExtract) -> bool {
    let events = raw.clinical_events.iter().enumerate().any(|(i, a)| {
        raw.clinical_events[i + 1..].iter().any(|b| {
            a.patient_id == b.patient_id
                && a.date == b.date
                && (a.value.map(f64::to_bits) != b.value.map(f64::to_bits)
                    || a.comparator.trim() != b.comparator.trim())
        })
    });
    let regs = raw.registrations.iter().enumerate().any(|(i, a)| {
        raw.registrations[i + 1..].iter().any(|b| {
            a.patient_id == b.patient_id
                && a.start == b.start
                && a.end == b.end
                && a.practice.trim() != b.practice.trim()
        })
    });
    events || regs
}
