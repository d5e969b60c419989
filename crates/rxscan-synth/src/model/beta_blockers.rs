//! Non-selective beta-blockers: timolol eye drops for glaucoma, carvedilol for heart failure,
//! an oral non-selective beta-blocker for some AF, and propranolol (anxiety, migraine, tremor)
//! for a few adults.
//!
//! They can cause bronchospasm in asthma (measure g), so prescribers avoid them, though not
//! always, while asthma is active (`asthma`); how often they still prescribe one scales with
//! `--enrich`.

use super::asthma::AsthmaHistory;
use super::{Conditions, Course, Sim, NONE, YEAR};

impl Sim<'_, '_> {
    /// The non-selective beta-blocker courses, each with its product.
    pub(super) fn beta_blockers(
        &mut self,
        c: &Conditions,
        asthma: &AsthmaHistory,
    ) -> Vec<(Course, u32)> {
        let book = self.m.book;
        let (lo, hi) = (self.lo, self.hi);
        let adult = self.date_at_age(18.0);

        // Non-selective beta-blockers: avoided (not always) in asthma.
        let enrich = self.m.enrich;
        let avoid = |t: i32| {
            if asthma.active(t) {
                (0.7 * enrich).min(1.0)
            } else {
                1.0
            }
        };
        let mut nsbb: Vec<(Course, u32)> = Vec::new();
        if c.glauc != NONE {
            let s = c.glauc + self.rng.range(0, 90);
            if self.rng.chance(0.28 * avoid(s)) {
                let course = self.course(s, 0.1, 4.0);
                let code = self.pick(&book.med.nsbb_eye);
                nsbb.push((course, code));
            }
        }
        if c.hf != NONE {
            let s = c.hf + self.rng.range(30, 180);
            if self.rng.chance(0.10 * avoid(s)) {
                let course = self.course(s, 0.1, 4.0);
                let code = self.pick(&book.med.carvedilol);
                nsbb.push((course, code));
            }
        }
        if c.af != NONE {
            let s = c.af + self.rng.range(0, 90);
            if self.rng.chance(0.04 * avoid(s)) {
                let course = self.course(s, 0.2, 3.0);
                let code = self.pick(&book.med.nsbb_oral);
                nsbb.push((course, code));
            }
        }
        let from = lo.max(adult);
        if from <= hi {
            for s in self.contacts(from, hi, 0.012 * enrich, false) {
                if self.rng.chance(avoid(s)) {
                    let course = Course {
                        start: s,
                        end: s + (self.rng.exp(1.2) * YEAR) as i32,
                    };
                    let code = self.pick(&book.med.propranolol);
                    nsbb.push((course, code));
                }
            }
        }
        nsbb
    }
}
