//! Kidney function: a per-patient eGFR trajectory and eGFR results as labs report them.
//!
//! eGFR follows a per-patient trajectory that declines with age (0.85 a year from a normal
//! baseline, lower when `--enrich` boosts AF and heart failure), with test-to-test noise.
//! Results carry comparators as labs report them (`>90`, some `<15`, mostly `=` or empty, a
//! few `~` and missing values). Measure k reads the latest value (eGFR below 45 with an NSAID).

use super::{Sim, CMP_APPROX, CMP_EQ, CMP_GE, CMP_GT, CMP_LT, CMP_NONE, NO_VALUE};

impl Sim<'_, '_> {
    /// The baseline of the patient's eGFR trajectory (the value at birth, before the decline).
    pub(super) fn egfr_baseline(&mut self) -> f64 {
        131.0 - 4.0 * (self.boost() - 1.0) + 13.0 * self.rng.normal()
    }

    /// An eGFR result on `date`: the trajectory's value plus noise, reported as labs do.
    pub(super) fn egfr_test(&mut self, date: i32, egfr_base: f64) {
        let book = self.m.book;
        let c = self.pick(&book.clin.egfr);
        let e = egfr_base - 0.85 * self.age_at(date) + 4.0 * self.rng.normal();
        self.egfr(date, c, e.clamp(3.0, 150.0));
    }

    /// An eGFR result as labs report it: ">90" above 90, sometimes "<15", mostly "=" or empty.
    fn egfr(&mut self, date: i32, code: u32, e: f64) {
        let v = e.round() as i32;
        let u = self.rng.f64();
        if self.rng.chance(0.015) {
            self.event_raw(date, code, 0, NO_VALUE, CMP_NONE);
        } else if v > 90 {
            if u < 0.65 {
                self.event_raw(date, code, 9000, 0, CMP_GT);
            } else if u < 0.68 {
                self.event_raw(date, code, 9000, 0, CMP_GE);
            } else if u < 0.8 {
                self.event_raw(date, code, v * 100, 0, CMP_EQ);
            } else {
                self.event_raw(date, code, v * 100, 0, CMP_NONE);
            }
        } else if v < 15 && u < 0.3 {
            self.event_raw(date, code, 1500, 0, CMP_LT);
        } else if u < 0.01 {
            self.event_raw(date, code, v * 100, 0, CMP_APPROX);
        } else if u < 0.45 {
            self.event_raw(date, code, v * 100, 0, CMP_EQ);
        } else {
            self.event_raw(date, code, v * 100, 0, CMP_NONE);
        }
    }
}
