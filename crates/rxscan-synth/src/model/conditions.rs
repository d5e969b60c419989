//! Conditions: when each one starts, and how it is coded.
//!
//! Each condition (hypertension, AF, heart failure, cardiovascular disease, peptic ulcer / GI
//! bleed, reflux, asthma, glaucoma, inflammatory arthritis, bipolar disorder, osteoarthritis,
//! diabetes, hypothyroidism) has an age-dependent logistic cumulative prevalence and an onset
//! date; the diagnosis code is recorded at onset (history can predate 2015). Conditions that
//! only steer treatment are coded with reserved fake codes; heart failure and peptic ulcer /
//! GI bleed use the PINCER codelists (measures i, b and c read them) and are re-recorded later.
//! Asthma, which can resolve and relapse, is in `asthma`. The onsets are drawn all at once,
//! before any record is written.

use super::{Conditions, Sim, CMP_NONE, NONE, NO_VALUE};

// Reserved fake diagnosis codes (indices into `CodeBook::fake_event`).
const DX_HT: usize = 0;
const DX_AF: usize = 1;
const DX_CVD: usize = 2;
const DX_GORD: usize = 3;
const DX_GLAUC: usize = 4;
const DX_RA: usize = 5;
const DX_BIP: usize = 6;
const DX_OA: usize = 7;
const DX_DM: usize = 8;
const DX_HYPO: usize = 9;
pub(super) const DX_VTE: usize = 10;

impl Sim<'_, '_> {
    /// Onset date of a condition whose cumulative prevalence by age is logistic
    /// (`pmax / (1 + exp(-(age - x50) / s))`); NONE if it never occurs within the record.
    fn onset(&mut self, pmax: f64, x50: f64, s: f64, min_age: f64) -> i32 {
        let u = self.rng.f64();
        if u >= pmax {
            return NONE;
        }
        let v = (u / pmax).clamp(1e-9, 1.0 - 1e-9);
        let mut age = x50 + s * (v / (1.0 - v)).ln();
        if age < min_age {
            age = min_age + self.rng.f64() * 3.0;
        }
        let d = self.date_at_age(age);
        if d > self.hi {
            NONE
        } else {
            d
        }
    }

    /// The onset of every condition (`onset(pmax, x50, s, min_age)`).
    pub(super) fn onsets(&mut self) -> Conditions {
        // Conditions (cumulative prevalence by age is logistic).
        let ht = self.onset(0.60, 62.0, 12.0, 25.0);
        let boost = self.boost();
        let af = self.onset(0.30 * boost, 85.0, 7.0, 30.0);
        let hf = self.onset(0.15 * boost, 88.0, 7.0, 30.0);
        let cvd = self.onset(0.35, 82.0, 9.0, 30.0);
        let pu = self.onset(0.07 * boost, 72.0, 15.0, 18.0);
        let gord = self.onset(0.30, 58.0, 15.0, 18.0);
        let asthma = self.onset(0.16, 12.0, 12.0, 2.0);
        let glauc = self.onset(0.08, 80.0, 10.0, 40.0);
        let ra = self.onset(0.02, 58.0, 12.0, 18.0);
        let bip = self.onset(0.015, 32.0, 10.0, 16.0);
        let oa = self.onset(0.35, 68.0, 12.0, 35.0);
        let dm = self.onset(0.22, 68.0, 12.0, 10.0);
        let hypo = self.onset(0.07, 62.0, 15.0, 18.0);
        Conditions {
            ht,
            af,
            hf,
            cvd,
            pu,
            gord,
            asthma,
            glauc,
            ra,
            bip,
            oa,
            dm,
            hypo,
        }
    }

    /// The diagnosis records of the conditions coded with reserved fake codes.
    pub(super) fn diagnoses(&mut self, c: &Conditions) {
        // Diagnosis records: dated at onset (history may predate the extract period).
        for (d, dx) in [
            (c.ht, DX_HT),
            (c.af, DX_AF),
            (c.cvd, DX_CVD),
            (c.gord, DX_GORD),
            (c.glauc, DX_GLAUC),
            (c.ra, DX_RA),
            (c.bip, DX_BIP),
            (c.oa, DX_OA),
            (c.dm, DX_DM),
            (c.hypo, DX_HYPO),
        ] {
            self.dx(d, dx);
        }
    }

    /// Heart failure: a code at onset, re-recorded at 0.15 a year.
    pub(super) fn heart_failure(&mut self, hf: i32) {
        let book = self.m.book;
        if hf != NONE {
            let c = self.pick(&book.clin.hf);
            self.event_raw(hf, c, 0, NO_VALUE, CMP_NONE);
            self.recode(hf, self.hi, 0.15, &book.clin.hf);
        }
    }

    /// Peptic ulcer (65%) or GI bleed: a code at onset; the ulcer is re-recorded at 0.05 a year.
    pub(super) fn peptic_ulcer(&mut self, pu: i32) {
        let book = self.m.book;
        if pu != NONE {
            let group = if self.rng.chance(0.65) {
                &book.clin.pep
            } else {
                &book.clin.gib
            };
            let c = self.pick(group);
            self.event_raw(pu, c, 0, NO_VALUE, CMP_NONE);
            self.recode(pu, self.hi, 0.05, &book.clin.pep);
        }
    }
}
