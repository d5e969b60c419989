//! The building blocks the parts of the model are made of: ages and dates, treatment courses,
//! repeat and acute issues, coded events (with plausible values), renewal processes of contacts,
//! diagnosis records and their re-recording. They decide nothing clinical: the parts decide what
//! happens and how often, these draw the details and write the rows.

use super::{Course, EventRow, MedRow, Sim, CMP_GT, CMP_LT, CMP_NONE, NONE, NO_VALUE, OPEN, YEAR};

impl Sim<'_, '_> {
    pub(super) fn age_at(&self, d: i32) -> f64 {
        (d - self.dob) as f64 / YEAR
    }

    pub(super) fn date_at_age(&self, age: f64) -> i32 {
        self.dob + (age * YEAR) as i32
    }

    /// `--enrich`, clamped to 1..=3: the factor applied to the prevalence of AF, heart failure
    /// and peptic ulcer (and, through lower kidney function, to eGFR).
    pub(super) fn boost(&self) -> f64 {
        self.m.enrich.clamp(1.0, 3.0)
    }

    /// A course starting at `start` that stops with probability `p_stop` (after an exponential
    /// duration of mean `mean_years`), otherwise runs on; no course if `start` is NONE or after
    /// the record.
    pub(super) fn course(&mut self, start: i32, p_stop: f64, mean_years: f64) -> Course {
        if start == NONE || start > self.hi {
            return Course::NO;
        }
        let end = if self.rng.chance(p_stop) {
            start + (self.rng.exp(mean_years) * YEAR) as i32
        } else {
            OPEN
        };
        Course { start, end }
    }

    /// A code from a group, the first codes being the most common.
    pub(super) fn pick(&mut self, group: &[u32]) -> u32 {
        group[self.rng.skewed(group.len())]
    }

    /// One medication issue (dropped outside the record window).
    pub(super) fn med(&mut self, date: i32, code: u32) {
        if date >= self.lo && date <= self.hi {
            self.out.meds.push(MedRow {
                date,
                id: self.id,
                code,
            });
        }
    }

    /// Repeat issues of one product over a course (every ~28 days, some 56-day scripts).
    pub(super) fn repeat(&mut self, code: u32, c: Course, base: i32) {
        if !c.exists() {
            return;
        }
        let lo = c.start.max(self.lo);
        let hi = c.end.min(self.hi);
        if lo > hi {
            return;
        }
        let base = if self.rng.chance(0.12) {
            base * 2
        } else {
            base
        };
        let mut d = if c.start < self.lo {
            lo + self.rng.below(base as usize) as i32
        } else {
            lo
        };
        while d <= hi {
            self.out.meds.push(MedRow {
                date: d,
                id: self.id,
                code,
            });
            let mut step = base + self.rng.range(-3, 6);
            if self.rng.chance(0.03) {
                step += base;
            }
            d += step;
        }
    }

    pub(super) fn event_raw(&mut self, date: i32, code: u32, val: i32, dec: u8, cmp: u8) {
        self.out.events.push(EventRow {
            date,
            id: self.id,
            code,
            val,
            dec,
            cmp,
        });
    }

    /// A coded event, with a plausible value when the code is an observable.
    pub(super) fn event(&mut self, date: i32, code: u32) {
        let spec = self.m.book.value_spec(code);
        if spec.mean > 0.0 {
            let x = (spec.mean as f64 * (1.0 + 0.15 * self.rng.normal())).max(0.0);
            let scale = [1.0, 10.0, 100.0][spec.decimals as usize];
            let v = (x * scale).round() as i32 * (100 / scale as i32);
            // A few results at a detection limit ("<5") or above a reporting limit.
            let u = self.rng.f64();
            let cmp = if u < 0.004 {
                CMP_LT
            } else if u < 0.006 {
                CMP_GT
            } else {
                CMP_NONE
            };
            self.event_raw(date, code, v, spec.decimals, cmp);
        } else {
            self.event_raw(date, code, 0, NO_VALUE, CMP_NONE);
        }
    }

    /// A renewal process of contacts (Gamma(2) gaps) over [lo, hi] at `rate` per year.
    pub(super) fn contacts(&mut self, lo: i32, hi: i32, rate: f64, at_start: bool) -> Vec<i32> {
        let mut out = Vec::new();
        if rate <= 0.0 || lo > hi {
            return out;
        }
        let mean = YEAR / rate;
        let mut t = if at_start {
            lo as f64
        } else {
            lo as f64 + self.rng.f64() * mean
        };
        while t <= hi as f64 {
            out.push(t as i32);
            t += self.rng.gamma2(mean).max(1.0);
        }
        out
    }

    /// A diagnosis recorded with one of the reserved fake codes (`CodeBook::fake_event[which]`).
    pub(super) fn dx(&mut self, date: i32, which: usize) {
        if date != NONE {
            let c = self.m.book.fake_event[which];
            self.event_raw(date, c, 0, NO_VALUE, CMP_NONE);
        }
    }

    /// Re-records a diagnosis code at `rate` per year over [from, to] ∩ record window.
    pub(super) fn recode(&mut self, from: i32, to: i32, rate: f64, group: &[u32]) {
        let lo = from.max(self.lo);
        let hi = to.min(self.hi);
        for d in self.contacts(lo, hi, rate, false) {
            let c = self.pick(group);
            self.event_raw(d, c, 0, NO_VALUE, CMP_NONE);
        }
    }
}
