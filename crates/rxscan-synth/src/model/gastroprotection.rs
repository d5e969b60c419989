//! Gastroprotection: long-term PPIs for reflux and ulcers, and alongside antiplatelets,
//! anticoagulants and long-term NSAIDs, plus some older patients.
//!
//! A PPI issued in the last three months takes a patient out of the denominators of measures
//! a, b, c, e and f, so how often the drugs at risk come with a PPI sets those rates. (PPIs
//! issued with acute NSAID courses are in `nsaids`.)

use super::{some, Conditions, Course, Sim, NONE, OPEN};

impl Sim<'_, '_> {
    /// Whether and when a long-term PPI starts (the earliest of the reasons), and its course.
    /// `antiplatelet_start` is the start of the long-term antiplatelet (or NONE), `oac` the AF
    /// anticoagulant and `nsaid_chronic` the long-term NSAID.
    pub(super) fn gastroprotection(
        &mut self,
        c: &Conditions,
        antiplatelet_start: i32,
        oac: Course,
        nsaid_chronic: Course,
    ) -> Course {
        let (lo, hi) = (self.lo, self.hi);
        let mut ppi_start = OPEN;
        if c.gord != NONE && self.rng.chance(0.75) {
            ppi_start = ppi_start.min(c.gord + self.rng.range(0, 60));
        }
        if c.pu != NONE && self.rng.chance(0.55) {
            ppi_start = ppi_start.min(c.pu + self.rng.range(0, 14));
        }
        if antiplatelet_start != NONE && self.rng.chance(0.3) {
            ppi_start = ppi_start.min(antiplatelet_start);
        }
        if oac.exists() && self.rng.chance(0.12) {
            ppi_start = ppi_start.min(oac.start);
        }
        if nsaid_chronic.exists() && self.rng.chance(0.4) {
            ppi_start = ppi_start.min(nsaid_chronic.start);
        }
        if self.age_at(hi) >= 67.0 && self.rng.chance(0.05) {
            let from = self.date_at_age(65.0).max(lo);
            ppi_start = ppi_start.min(self.rng.range(from, hi));
        }
        self.course(some(ppi_start), 0.25, 3.0)
    }
}
