//! Background activity outside every codelist.
//!
//! Most rows of a real extract use codes that no PINCER codelist contains. They come from a
//! fixed pool of a few thousand fake dm+d and SNOMED CT identifiers (with valid Verhoeff check
//! digits): consultations and observations with values (more with age, and for women of
//! working age), chronic medicines (statins, metformin, levothyroxine, ...) and acute medicines
//! (antibiotics, creams, ...). On average a patient has about 30-60 medication rows and 50-100
//! event rows. `--background` scales all of it (0 turns it off).

use super::{Course, Sim, YEAR};

impl Sim<'_, '_> {
    /// Background activity outside every codelist (nothing when `--background` is 0).
    pub(super) fn background(&mut self, sex: u8) {
        let bg = self.m.background;
        if bg > 0.0 {
            self.background_events(sex, bg);
            self.background_repeats(bg);
            self.background_acute_meds(bg);
        }
    }

    /// A code from the pool of background event codes (the reserved diagnosis codes excluded).
    pub(super) fn bg_event_code(&mut self) -> u32 {
        let pool = &self.m.book.fake_event;
        let n = pool.len() - crate::codes::N_FAKE_DIAGNOSES;
        pool[crate::codes::N_FAKE_DIAGNOSES + self.rng.skewed(n)]
    }

    /// A code from the pool of background medicine codes.
    fn bg_med_code(&mut self) -> u32 {
        let pool = &self.m.book.fake_med;
        pool[self.rng.skewed(pool.len())]
    }

    /// Consultations and observations: visits with one to three coded events each.
    fn background_events(&mut self, sex: u8, bg: f64) {
        let (lo, hi) = (self.lo, self.hi);
        let mut t = lo as f64;
        loop {
            let age = self.age_at(t as i32);
            let rate = bg
                * if age < 18.0 {
                    1.8
                } else if age < 65.0 {
                    if sex == b'F' {
                        3.0
                    } else {
                        1.9
                    }
                } else if age < 75.0 {
                    4.2
                } else {
                    6.0
                };
            t += self.rng.exp(YEAR / rate);
            let d = t as i32;
            if d > hi {
                break;
            }
            let k = 1 + self.rng.below(3);
            for _ in 0..k {
                let c = self.bg_event_code();
                self.event(d, c);
            }
        }
    }

    /// Chronic medicines outside every codelist (statins, metformin, levothyroxine, ...).
    fn background_repeats(&mut self, bg: f64) {
        let (lo, hi) = (self.lo, self.hi);
        let mid_age = self.age_at(lo / 2 + hi / 2);
        let n = self
            .rng
            .poisson(bg * (0.1 + 3.5 / (1.0 + (-(mid_age - 60.0) / 10.0).exp())));
        for _ in 0..n {
            let s = self.rng.range(lo - 1800, hi);
            let c = Course {
                start: s,
                end: s + (self.rng.exp(4.0) * YEAR) as i32,
            };
            let code = self.bg_med_code();
            self.repeat(code, c, 28);
        }
    }

    /// Acute medicines (antibiotics, creams, ...).
    fn background_acute_meds(&mut self, bg: f64) {
        let (lo, hi) = (self.lo, self.hi);
        let mut t = lo as f64;
        loop {
            let age = self.age_at(t as i32);
            let rate = bg
                * if age < 10.0 {
                    0.8
                } else if age < 65.0 {
                    0.6
                } else {
                    1.0
                };
            t += self.rng.exp(YEAR / rate);
            let d = t as i32;
            if d > hi {
                break;
            }
            let code = self.bg_med_code();
            self.med(d, code);
            if self.rng.chance(0.2) {
                let d2 = d + self.rng.range(5, 30);
                self.med(d2, code);
            }
        }
    }
}
