//! ACE inhibitors, for hypertension, heart failure and diabetes.
//!
//! Long-term ACE inhibitors in patients aged 75 or over need renal function and electrolytes
//! tests (measure ac); the monitoring they trigger is in `monitoring`.

use super::{some, Conditions, Course, Sim, NONE, OPEN};

impl Sim<'_, '_> {
    /// Whether and when an ACE inhibitor starts (the earliest of the indications that lead to
    /// one), and its course.
    pub(super) fn ace_inhibitor(&mut self, c: &Conditions) -> Course {
        let mut acei_start = OPEN;
        if c.ht != NONE && self.rng.chance(0.5) {
            acei_start = acei_start.min(c.ht + self.rng.range(0, 180));
        }
        if c.hf != NONE && self.rng.chance(0.7) {
            acei_start = acei_start.min(c.hf + self.rng.range(0, 60));
        }
        if c.dm != NONE && self.rng.chance(0.3) {
            acei_start = acei_start.min(c.dm + self.rng.range(0, 365));
        }
        self.course(some(acei_start), 0.15, 4.0)
    }
}
