//! Antiplatelets: aspirin or another antiplatelet after cardiovascular disease, dual
//! antiplatelet therapy for about a year after some cardiovascular events, and aspirin for
//! primary prevention (diabetes, older age).
//!
//! Antiplatelets are rarely added to an anticoagulant (measure e) and dual therapy is what
//! measure f looks for; both are scaled by `--enrich`. Measure c (ulcer history, antiplatelet,
//! no gastroprotection) follows from these and `gastroprotection`.

use super::{Conditions, Course, Sim, NONE};

/// The antiplatelet courses of a patient.
pub(super) struct Antiplatelets {
    pub(super) aspirin: Course,
    /// An antiplatelet other than aspirin.
    pub(super) nonasp: Course,
    /// Dual antiplatelet therapy: the second antiplatelet, for about a year.
    pub(super) dapt: Course,
    /// Whether the second antiplatelet of `dapt` is aspirin.
    pub(super) dapt_aspirin: bool,
}

impl Antiplatelets {
    /// Start of the long-term antiplatelet (aspirin, else the other one), NONE without one.
    pub(super) fn start(&self) -> i32 {
        if self.aspirin.exists() {
            self.aspirin.start
        } else {
            self.nonasp.start
        }
    }
}

impl Sim<'_, '_> {
    /// Antiplatelets given the conditions and the AF anticoagulant `oac`.
    pub(super) fn antiplatelets(&mut self, c: &Conditions, oac: Course) -> Antiplatelets {
        let (lo, hi) = (self.lo, self.hi);
        let mut aspirin = Course::NO;
        let mut nonasp = Course::NO;
        let mut dapt = Course::NO;
        let mut dapt_aspirin = false;
        if c.cvd != NONE {
            let p = if oac.exists() {
                (0.18 * self.m.enrich).min(1.0)
            } else {
                0.85
            };
            if self.rng.chance(p) {
                let s = c.cvd + self.rng.range(0, 30);
                let course = self.course(s, 0.1, 5.0);
                if self.rng.chance(0.55) {
                    aspirin = course;
                } else {
                    nonasp = course;
                }
                if !oac.exists() && self.rng.chance((0.2 * self.m.enrich).min(1.0)) {
                    dapt = Course {
                        start: c.cvd,
                        end: c.cvd + self.rng.range(330, 400),
                    };
                    dapt_aspirin = !aspirin.exists();
                }
            }
        }
        if !aspirin.exists() && !nonasp.exists() && !oac.exists() {
            let pp = (c.dm != NONE && self.rng.chance(0.08))
                || (self.age_at(hi) >= 72.0 && self.rng.chance(0.03));
            if pp {
                let from = if c.dm != NONE { c.dm.max(lo) } else { lo };
                let s = self.rng.range(from, hi);
                aspirin = self.course(s, 0.1, 5.0);
            }
        }
        Antiplatelets {
            aspirin,
            nonasp,
            dapt,
            dapt_aspirin,
        }
    }
}
