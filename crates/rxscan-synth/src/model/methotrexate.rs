//! Methotrexate, for inflammatory arthritis.
//!
//! Methotrexate needs a full blood count and liver function tests at least every three months
//! (measures me_no_fbc and me_no_lft); the monitoring it triggers is in `monitoring`. A rare
//! part of the model, scaled by `--enrich`.

use super::{Course, Sim, NONE};

impl Sim<'_, '_> {
    /// Methotrexate for inflammatory arthritis starting at `ra` (55% × `--enrich`).
    pub(super) fn methotrexate(&mut self, ra: i32) -> Course {
        let rare = self.m.enrich;
        let mut mtx = Course::NO;
        if ra != NONE && self.rng.chance((0.55 * rare).min(1.0)) {
            let s = ra + self.rng.range(0, 365);
            mtx = self.course(s, 0.3, 5.0);
        }
        mtx
    }
}
