//! NSAIDs: a few long-term courses for osteoarthritis, and short acute courses.
//!
//! Oral NSAIDs are the numerator of measures a, b, d, i and k. Acute courses are prescribed at
//! age-dependent rates (most at 18-64), scaled by the practice's NSAID habit and by `--enrich`;
//! a patient mostly gets the same NSAID again, a few get an NSAID+PPI combination, and some
//! courses come with a PPI (more often at 65 or over) when the patient is not already on one.

use super::{Course, Sim, NONE, YEAR};

impl Sim<'_, '_> {
    /// A long-term NSAID for osteoarthritis (5% × `--enrich`, within three years of onset).
    pub(super) fn chronic_nsaid(&mut self, oa: i32) -> Course {
        let hi = self.hi;
        let mut nsaid_chronic = Course::NO;
        if oa != NONE && self.rng.chance((0.05 * self.m.enrich).min(1.0)) {
            let s = oa + self.rng.range(0, 1100);
            if s <= hi {
                nsaid_chronic = Course {
                    start: s,
                    end: s + (self.rng.exp(1.5) * YEAR) as i32,
                };
            }
        }
        nsaid_chronic
    }

    /// Acute NSAID courses, sometimes with gastroprotection (`ppi` is the patient's long-term
    /// PPI course, if any).
    pub(super) fn acute_nsaids(&mut self, nsaid_factor: f64, ppi: Course) {
        let book = self.m.book;
        let m = &book.med;
        let (lo, hi) = (self.lo, self.hi);
        let usual_nsaid = self.pick(&m.nsaid);
        let from = lo.max(self.date_at_age(12.0));
        let mut t = from as f64;
        while t <= hi as f64 {
            let age = self.age_at(t as i32);
            let rate = nsaid_factor
                * self.m.enrich
                * if age < 18.0 {
                    0.02
                } else if age < 45.0 {
                    0.14
                } else if age < 65.0 {
                    0.11
                } else if age < 75.0 {
                    0.05
                } else {
                    0.04
                };
            t += self.rng.exp(YEAR / rate);
            let d = t as i32;
            if d > hi {
                break;
            }
            let code = if self.rng.chance(0.02) {
                self.pick(&m.nsaid_ppi)
            } else if self.rng.chance(0.6) {
                usual_nsaid
            } else {
                self.pick(&m.nsaid)
            };
            self.med(d, code);
            if self.rng.chance(0.3) {
                let d2 = d + self.rng.range(14, 35);
                self.med(d2, code);
            }
            let pg = if age >= 65.0 { 0.35 } else { 0.15 };
            if !ppi.active(d) && self.rng.chance(pg) {
                let c = self.pick(&m.ppi);
                self.med(d, c);
            }
        }
    }
}
