//! Oral anticoagulants: long-term for atrial fibrillation, a few months after a venous
//! thromboembolism.
//!
//! Anticoagulants matter to measures d (with an NSAID) and e (with an antiplatelet, without
//! gastroprotection); whether a patient is anticoagulated for AF also steers antiplatelets
//! (`antiplatelets`) and gastroprotection (`gastroprotection`).

use super::conditions::DX_VTE;
use super::{Course, Sim, NONE};

impl Sim<'_, '_> {
    /// Anticoagulation for AF (78% of patients with AF, within 90 days of the diagnosis).
    pub(super) fn af_anticoagulation(&mut self, af: i32) -> Course {
        let mut oac = Course::NO;
        if af != NONE && self.rng.chance(0.78) {
            let s = af + self.rng.range(0, 90);
            oac = self.course(s, 0.08, 3.0);
        }
        oac
    }

    /// A venous thromboembolism in adult life (more likely with age), recorded with its
    /// diagnosis and treated for 90-180 days.
    pub(super) fn vte_anticoagulation(&mut self) -> Course {
        let (lo, hi) = (self.lo, self.hi);
        let adult = self.date_at_age(18.0);
        let mut vte_oac = Course::NO;
        if self.rng.chance(0.012 * (1.0 + self.age_at(hi) / 40.0)) {
            let s = self.rng.range(lo.max(adult), hi);
            if s >= adult {
                self.dx(s, DX_VTE);
                vte_oac = Course {
                    start: s,
                    end: s + self.rng.range(90, 180),
                };
            }
        }
        vte_oac
    }
}
