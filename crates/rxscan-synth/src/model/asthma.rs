//! Asthma, with resolution and relapse.
//!
//! Measure g (asthma with a non-selective beta-blocker) only counts asthma that is not
//! resolved, so the model writes asthma codes at onset, sometimes an "asthma resolved" code
//! (more often when asthma starts before 30) and, after some resolutions, a relapse. Codes are
//! re-recorded while asthma is active. Beta-blocker prescribing (`beta_blockers`) looks at
//! whether asthma is active on the day of the decision.

use super::{Sim, CMP_NONE, NONE, NO_VALUE, YEAR};

/// A patient's asthma history (dates, [`NONE`] when absent).
pub(super) struct AsthmaHistory {
    onset: i32,
    resolved: i32,
    relapse: i32,
}

impl AsthmaHistory {
    /// Whether asthma is active on day `t`: diagnosed, and not resolved (or relapsed since).
    pub(super) fn active(&self, t: i32) -> bool {
        self.onset != NONE
            && self.onset <= t
            && !(self.resolved != NONE
                && self.resolved <= t
                && (self.relapse == NONE || t < self.relapse))
    }
}

impl Sim<'_, '_> {
    /// The asthma records of a patient whose asthma starts at `asthma` (or never, if NONE).
    pub(super) fn asthma(&mut self, asthma: i32) -> AsthmaHistory {
        let book = self.m.book;
        let hi = self.hi;
        let mut asthma_res = NONE;
        let mut asthma_back = NONE;
        if asthma != NONE {
            let c = self.pick(&book.clin.ast);
            self.event_raw(asthma, c, 0, NO_VALUE, CMP_NONE);
            let p_res = if self.age_at(asthma) < 30.0 {
                0.3
            } else {
                0.15
            };
            if self.rng.chance(p_res) {
                let r = asthma + (self.rng.exp(9.0) * YEAR) as i32;
                if r <= hi {
                    asthma_res = r;
                    let c = book.clin.ast_res[0];
                    self.event_raw(r, c, 0, NO_VALUE, CMP_NONE);
                    if self.rng.chance(0.2) {
                        let b = r + (self.rng.exp(4.0) * YEAR) as i32;
                        if b <= hi {
                            asthma_back = b;
                            let c = self.pick(&book.clin.ast);
                            self.event_raw(b, c, 0, NO_VALUE, CMP_NONE);
                        }
                    }
                }
            }
            let until = if asthma_res != NONE {
                asthma_res - 1
            } else {
                hi
            };
            self.recode(asthma, until, 0.25, &book.clin.ast);
            if asthma_back != NONE {
                self.recode(asthma_back, hi, 0.25, &book.clin.ast);
            }
        }
        AsthmaHistory {
            onset: asthma,
            resolved: asthma_res,
            relapse: asthma_back,
        }
    }
}
