//! Lithium, for bipolar disorder.
//!
//! Lithium needs a lithium level at least every three months (measure li); the monitoring it
//! triggers is in `monitoring`. A rare part of the model, scaled by `--enrich`.

use super::{Course, Sim, NONE};

impl Sim<'_, '_> {
    /// Lithium for bipolar disorder starting at `bip` (7% × `--enrich`).
    pub(super) fn lithium(&mut self, bip: i32) -> Course {
        let rare = self.m.enrich;
        let mut lith = Course::NO;
        if bip != NONE && self.rng.chance((0.07 * rare).min(1.0)) {
            let s = bip + self.rng.range(0, 1095);
            lith = self.course(s, 0.2, 8.0);
        }
        lith
    }
}
