//! Loop diuretics, for heart failure, some hypertension and some older patients.
//!
//! Like ACE inhibitors, long-term loop diuretics in patients aged 75 or over need renal
//! function and electrolytes tests (measure ac); the monitoring is in `monitoring`.

use super::{some, Conditions, Course, Sim, NONE, OPEN};

impl Sim<'_, '_> {
    /// Whether and when a diuretic starts (the earliest of the reasons), and its course.
    pub(super) fn diuretic(&mut self, c: &Conditions) -> Course {
        let (lo, hi) = (self.lo, self.hi);
        let mut diur_start = OPEN;
        if c.hf != NONE && self.rng.chance(0.85) {
            diur_start = diur_start.min(c.hf + self.rng.range(0, 30));
        }
        if c.ht != NONE && self.rng.chance(0.07) {
            diur_start = diur_start.min(c.ht + self.rng.range(0, 730));
        }
        if self.age_at(hi) >= 72.0 && self.rng.chance(0.04) {
            let from = self.date_at_age(70.0).max(lo);
            diur_start = diur_start.min(self.rng.range(from, hi));
        }
        self.course(some(diur_start), 0.2, 3.0)
    }
}
