//! Amiodarone, for some atrial fibrillation and heart failure.
//!
//! Amiodarone needs a thyroid function test at least every six months (measure am); the
//! monitoring it triggers is in `monitoring`. A rare part of the model, scaled by `--enrich`.

use super::{Course, Sim, NONE};

impl Sim<'_, '_> {
    /// Amiodarone after AF starting at `af` (4% × `--enrich`), else after heart failure
    /// starting at `hf` (2% × `--enrich`).
    pub(super) fn amiodarone(&mut self, af: i32, hf: i32) -> Course {
        let rare = self.m.enrich;
        let mut amio = Course::NO;
        let amio_from = if af != NONE && self.rng.chance((0.04 * rare).min(1.0)) {
            af
        } else if hf != NONE && self.rng.chance((0.02 * rare).min(1.0)) {
            hf
        } else {
            NONE
        };
        if amio_from != NONE {
            let s = amio_from + self.rng.range(0, 365);
            amio = self.course(s, 0.5, 2.0);
        }
        amio
    }
}
