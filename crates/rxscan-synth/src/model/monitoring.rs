//! Monitoring: general blood tests plus drug-specific monitoring.
//!
//! General blood tests come at age-dependent rates (more with diabetes); ACE inhibitors and
//! diuretics add U&E, methotrexate FBC and LFT, lithium lithium levels, amiodarone and
//! hypothyroidism thyroid function tests. All rates are scaled by a per-patient engagement
//! factor (a few patients almost never attend) and the practice's monitoring habit. A test
//! contact writes several rows (e.g. FBC components), with values; the eGFR result is modelled
//! in `renal`. Measures ac, me_no_fbc, me_no_lft, li and am count the missing tests.

use super::{Sim, Treatment, CMP_NONE, NONE, YEAR};

/// Which tests a monitoring contact orders (probabilities).
#[derive(Clone, Copy)]
struct Panel {
    renal: f64,
    electro: f64,
    fbc: f64,
    lft: f64,
    tft: f64,
    lith: f64,
    other: f64,
}

const GENERAL_PANEL: Panel = Panel {
    renal: 0.85,
    electro: 0.95,
    fbc: 0.75,
    lft: 0.6,
    tft: 0.12,
    lith: 0.0,
    other: 0.5,
};
const RENAL_PANEL: Panel = Panel {
    renal: 0.97,
    electro: 0.96,
    fbc: 0.4,
    lft: 0.3,
    tft: 0.05,
    lith: 0.0,
    other: 0.3,
};
const MTX_PANEL: Panel = Panel {
    renal: 0.8,
    electro: 0.9,
    fbc: 0.95,
    lft: 0.93,
    tft: 0.0,
    lith: 0.0,
    other: 0.1,
};
const LITH_PANEL: Panel = Panel {
    renal: 0.5,
    electro: 0.9,
    fbc: 0.2,
    lft: 0.1,
    tft: 0.35,
    lith: 1.0,
    other: 0.05,
};
const AMIO_PANEL: Panel = Panel {
    renal: 0.4,
    electro: 0.9,
    fbc: 0.3,
    lft: 0.5,
    tft: 0.97,
    lith: 0.0,
    other: 0.05,
};
const TFT_PANEL: Panel = Panel {
    renal: 0.2,
    electro: 0.9,
    fbc: 0.2,
    lft: 0.1,
    tft: 0.97,
    lith: 0.0,
    other: 0.1,
};

impl Sim<'_, '_> {
    /// The patient's engagement with blood tests (6% almost never attend), times the practice's
    /// monitoring habit `monitor_factor`.
    pub(super) fn engagement(&mut self, monitor_factor: f64) -> f64 {
        (if self.rng.chance(0.06) {
            0.2
        } else {
            0.6 + 0.8 * self.rng.f64()
        }) * monitor_factor
    }

    /// General blood tests, at age-dependent rates (more with diabetes starting at `dm`).
    pub(super) fn routine_bloods(&mut self, dm: i32, engagement: f64, egfr_base: f64) {
        let (lo, hi) = (self.lo, self.hi);
        let mut t = lo as f64 + self.rng.f64() * YEAR;
        while t <= hi as f64 {
            let d = t as i32;
            let age = self.age_at(d);
            let mut rate = if age < 18.0 {
                0.1
            } else if age < 40.0 {
                0.35
            } else if age < 65.0 {
                0.7
            } else if age < 75.0 {
                1.2
            } else {
                1.5
            };
            if dm != NONE && dm <= d {
                rate += 0.6;
            }
            rate *= engagement;
            self.panel(d, GENERAL_PANEL, egfr_base);
            t += self.rng.gamma2(YEAR / rate).max(1.0);
        }
    }

    /// Monitoring of the drugs that need it, while they are taken: tests a year, panel, and
    /// whether the first test comes at the start of treatment.
    pub(super) fn drug_monitoring(&mut self, rx: &Treatment, engagement: f64, egfr_base: f64) {
        let (lo, hi) = (self.lo, self.hi);
        for (course, rate, panel, at_start) in [
            (rx.acei, 1.3, RENAL_PANEL, false),
            (rx.diur, 1.3, RENAL_PANEL, false),
            (rx.mtx, 5.6, MTX_PANEL, true),
            (rx.lith, 4.0, LITH_PANEL, true),
            (rx.amio, 1.7, AMIO_PANEL, true),
        ] {
            if course.exists() {
                let a = course.start.max(lo);
                let b = course.end.min(hi);
                let at_start = at_start && course.start >= lo;
                for d in self.contacts(a, b, rate * engagement, at_start) {
                    self.panel(d, panel, egfr_base);
                }
            }
        }
    }

    /// Thyroid function tests for hypothyroidism starting at `hypo` (about one a year).
    pub(super) fn thyroid_monitoring(&mut self, hypo: i32, engagement: f64, egfr_base: f64) {
        if hypo != NONE {
            let a = hypo.max(self.lo);
            for d in self.contacts(a, self.hi, engagement, false) {
                self.panel(d, TFT_PANEL, egfr_base);
            }
        }
    }

    /// One test contact on `date`: the tests of panel `p` that are ordered, each writing its
    /// rows.
    fn panel(&mut self, date: i32, p: Panel, egfr_base: f64) {
        let book = self.m.book;
        if self.rng.chance(p.renal) {
            let c = self.pick(&book.clin.creat);
            self.event(date, c);
            if self.rng.chance(0.95) {
                self.egfr_test(date, egfr_base);
            }
            if self.rng.chance(p.electro) {
                for _ in 0..1 + self.rng.below(2) {
                    let c = self.pick(&book.clin.electro);
                    self.event(date, c);
                }
            }
        } else if self.rng.chance(0.1) {
            let c = self.pick(&book.clin.electro);
            self.event(date, c);
        }
        if self.rng.chance(p.fbc) {
            let k = 2 + self.rng.below(3);
            for _ in 0..k {
                let c = self.pick(&book.clin.fbc);
                self.event(date, c);
            }
        }
        if self.rng.chance(p.lft) {
            let k = 1 + self.rng.below(3);
            for _ in 0..k {
                let c = self.pick(&book.clin.lft);
                self.event(date, c);
            }
        }
        if self.rng.chance(p.tft) {
            let k = 1 + self.rng.below(2);
            for _ in 0..k {
                let c = self.pick(&book.clin.tft);
                self.event(date, c);
            }
        }
        if self.rng.chance(p.lith) {
            let c = self.pick(&book.clin.lith_lev);
            let v = (0.45 + 0.5 * self.rng.f64()) * 100.0;
            self.event_raw(date, c, v.round() as i32, 2, CMP_NONE);
        }
        if self.rng.chance(p.other * self.m.background.min(1.0)) {
            let k = 1 + self.rng.below(3);
            for _ in 0..k {
                let c = self.bg_event_code();
                self.event(date, c);
            }
        }
    }
}
