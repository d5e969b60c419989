//! The patient model: demography, registrations, conditions, treatment courses, monitoring and
//! background activity. Everything a patient has is drawn from one PRNG stream seeded by
//! `(seed, patient index)`, so a patient's record does not depend on chunking or threads.
//!
//! All tunable rates live in this file; the comments give the target they were tuned against
//! (INDICATORS.md §8, Q1 2020 national rates).

use crate::codes::CodeBook;
use crate::dates::{days_from_civil, month_start};
use crate::rng::Rng;

/// Marker for "no date" (alive, ongoing registration, condition never occurs).
pub(crate) const NONE: i32 = i32::MIN;
const OPEN: i32 = i32::MAX;
/// First day with medication issues and routine events.
pub(crate) const EXTRACT_START: i32 = days_from_civil(2015, 1, 1);
/// Last day of the extract.
pub(crate) const EXTRACT_END: i32 = days_from_civil(2023, 12, 31);
const YEAR: f64 = 365.25;

/// Comparator strings indexed by [`EventRow::cmp`].
pub(crate) const COMPARATORS: [&str; 7] = ["", "=", ">", "<", ">=", "<=", "~"];
const CMP_NONE: u8 = 0;
const CMP_EQ: u8 = 1;
const CMP_GT: u8 = 2;
const CMP_LT: u8 = 3;
const CMP_GE: u8 = 4;
const CMP_APPROX: u8 = 6;
/// [`EventRow::dec`] value meaning "no numeric value".
pub(crate) const NO_VALUE: u8 = u8::MAX;

#[derive(Clone, Copy, Debug)]
pub(crate) struct PatientRow {
    pub id: u32,
    pub dob: i32,
    /// b'M', b'F', b'U' or b'I'.
    pub sex: u8,
    pub death: i32,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct RegRow {
    pub id: u32,
    pub start: i32,
    pub end: i32,
    pub practice: u32,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct MedRow {
    pub date: i32,
    pub id: u32,
    pub code: u32,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct EventRow {
    pub date: i32,
    pub id: u32,
    pub code: u32,
    /// Value in hundredths (meaningful when `dec != NO_VALUE`).
    pub val: i32,
    /// Decimals to print (0..=2) or [`NO_VALUE`].
    pub dec: u8,
    /// Index into [`COMPARATORS`].
    pub cmp: u8,
}

#[derive(Default)]
pub(crate) struct Rows {
    pub patients: Vec<PatientRow>,
    pub regs: Vec<RegRow>,
    pub meds: Vec<MedRow>,
    pub events: Vec<EventRow>,
}

/// Practices: ids, list-size weights and practice-level prescribing/monitoring habits.
pub(crate) struct Practices {
    pub ids: Vec<u32>,
    cdf: Vec<f64>,
    nsaid: Vec<f64>,
    monitor: Vec<f64>,
}

impl Practices {
    pub(crate) fn new(n: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed, u64::MAX);
        let mut cdf = Vec::with_capacity(n);
        let mut nsaid = Vec::with_capacity(n);
        let mut monitor = Vec::with_capacity(n);
        let mut total = 0.0;
        for _ in 0..n {
            total += (0.5 * rng.normal()).exp();
            cdf.push(total);
            nsaid.push((0.35 * rng.normal()).exp().clamp(0.4, 2.5));
            monitor.push((0.2 * rng.normal()).exp().clamp(0.6, 1.5));
        }
        for c in &mut cdf {
            *c /= total;
        }
        Practices {
            ids: (1..=n as u32).collect(),
            cdf,
            nsaid,
            monitor,
        }
    }

    fn pick(&self, rng: &mut Rng) -> usize {
        let u = rng.f64();
        self.cdf
            .partition_point(|&c| c <= u)
            .min(self.cdf.len() - 1)
    }

    fn pick_other(&self, rng: &mut Rng, current: usize) -> usize {
        if self.cdf.len() == 1 {
            return current;
        }
        for _ in 0..8 {
            let p = self.pick(rng);
            if p != current {
                return p;
            }
        }
        (current + 1) % self.cdf.len()
    }
}

/// ONS mid-2019 England population, 5-year age bands 0-4 … 85-89, 90+ (percent).
const AGE_BANDS: [f64; 19] = [
    5.9, 6.3, 5.9, 5.5, 6.1, 6.8, 6.8, 6.6, 6.1, 6.6, 6.9, 6.5, 5.6, 5.0, 5.1, 3.6, 2.6, 1.6, 0.9,
];

fn sample_age(rng: &mut Rng) -> f64 {
    let total: f64 = AGE_BANDS.iter().sum();
    let mut u = rng.f64() * total;
    for (i, w) in AGE_BANDS.iter().enumerate() {
        if u < *w {
            return if i == 18 {
                (90.0 + rng.exp(4.0)).min(106.0)
            } else {
                i as f64 * 5.0 + rng.f64() * 5.0
            };
        }
        u -= w;
    }
    40.0
}

fn sample_sex(rng: &mut Rng, age: f64) -> u8 {
    let u = rng.f64();
    if u < 0.0008 {
        return b'U';
    }
    if u < 0.001 {
        return b'I';
    }
    let pf = if age < 65.0 {
        0.495
    } else if age < 80.0 {
        0.53
    } else if age < 90.0 {
        0.6
    } else {
        0.7
    };
    if rng.chance(pf) {
        b'F'
    } else {
        b'M'
    }
}

/// Years until death for someone aged `age` (Gompertz-Makeham: ~1%/yr at 65, ~5% at 80).
fn years_to_death(rng: &mut Rng, age: f64) -> f64 {
    let b = 0.11;
    let a = 0.01 * (-b * 65.0f64).exp();
    let e = rng.exp(1.0);
    let g = (1.0 + e * b / (a * (b * age).exp())).ln() / b;
    let m = rng.exp(1.0 / 0.0004);
    g.min(m).min(120.0)
}

#[derive(Clone, Copy)]
struct Course {
    start: i32,
    end: i32,
}

impl Course {
    const NO: Course = Course {
        start: NONE,
        end: NONE,
    };
    fn exists(&self) -> bool {
        self.start != NONE
    }
    fn active(&self, t: i32) -> bool {
        self.start != NONE && self.start <= t && t <= self.end
    }
}

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
const DX_VTE: usize = 10;

pub(crate) struct Model<'a> {
    pub book: &'a CodeBook,
    pub practices: &'a Practices,
    pub seed: u64,
    /// Multiplier for rows outside every codelist.
    pub background: f64,
    /// Enrichment of the rare parts of the model (see `SynthConfig::enrich`).
    pub enrich: f64,
}

struct Sim<'m, 'o> {
    m: &'m Model<'m>,
    rng: Rng,
    out: &'o mut Rows,
    id: u32,
    dob: i32,
    /// Record window (registered, alive, inside the extract period).
    lo: i32,
    hi: i32,
}

impl Model<'_> {
    /// Simulates patients `first .. first + count` (0-based indices; ids are index + 1).
    pub(crate) fn simulate(&self, first: usize, count: usize) -> Rows {
        let mut rows = Rows {
            patients: Vec::with_capacity(count),
            regs: Vec::with_capacity(count * 5 / 4),
            meds: Vec::with_capacity(count * 48),
            events: Vec::with_capacity(count * 80),
        };
        for i in first..first + count {
            self.patient(i as u64, &mut rows);
        }
        rows
    }

    fn patient(&self, index: u64, out: &mut Rows) {
        let mut rng = Rng::new(self.seed, index);
        let id = (index + 1) as u32;

        // Demography: each patient is alive and registered on an anchor day of the extract
        // period, with an England-like age at that day.
        let anchor = rng.range(EXTRACT_START, EXTRACT_END);
        let age = sample_age(&mut rng);
        let dob = month_start(anchor - (age * YEAR) as i32);
        let age_a = (anchor - dob) as f64 / YEAR;
        let sex = sample_sex(&mut rng, age_a);

        let mut start = anchor - (rng.exp(12.0) * YEAR) as i32;
        if start < dob {
            start = (dob + rng.range(7, 60)).min(anchor);
        }
        let death = anchor + (years_to_death(&mut rng, age_a) * YEAR) as i32;
        let leave_rate = if age_a < 18.0 {
            0.03
        } else if age_a < 35.0 {
            0.05
        } else {
            0.02
        };
        let leave = anchor + (rng.exp(1.0 / leave_rate).min(120.0) * YEAR) as i32;
        let death_date = if death <= EXTRACT_END { death } else { NONE };
        let mut reg_end = if death <= leave {
            death + rng.range(0, 14)
        } else {
            leave
        };
        if reg_end > EXTRACT_END {
            reg_end = NONE;
        }
        out.patients.push(PatientRow {
            id,
            dob,
            sex,
            death: death_date,
        });

        // Registrations, with transfers between practices.
        let transfer_rate = if (18.0..40.0).contains(&age_a) {
            0.03
        } else {
            0.015
        };
        let end_eff = if reg_end == NONE {
            EXTRACT_END + 1
        } else {
            reg_end
        };
        let mut t = start;
        let mut practice = self.practices.pick(&mut rng);
        let first_practice = practice;
        for n in 0.. {
            let next = t + (rng.exp(1.0 / transfer_rate).min(120.0) * YEAR) as i32;
            if next >= end_eff || n == 5 {
                out.regs.push(RegRow {
                    id,
                    start: t,
                    end: reg_end,
                    practice: self.practices.ids[practice],
                });
                break;
            }
            out.regs.push(RegRow {
                id,
                start: t,
                end: next,
                practice: self.practices.ids[practice],
            });
            let u = rng.f64();
            t = if u < 0.8 {
                next
            } else if u < 0.95 {
                next + rng.range(1, 14)
            } else {
                next - rng.range(1, 3)
            };
            if t >= end_eff {
                break;
            }
            practice = self.practices.pick_other(&mut rng, practice);
        }

        let lo = start.max(EXTRACT_START);
        let mut hi = EXTRACT_END;
        if death_date != NONE {
            hi = hi.min(death_date);
        }
        if reg_end != NONE {
            hi = hi.min(reg_end);
        }
        let mut sim = Sim {
            m: self,
            rng,
            out,
            id,
            dob,
            lo,
            hi,
        };
        sim.clinical(
            sex,
            self.practices.nsaid[first_practice],
            self.practices.monitor[first_practice],
        );
    }
}

impl Sim<'_, '_> {
    fn age_at(&self, d: i32) -> f64 {
        (d - self.dob) as f64 / YEAR
    }

    fn date_at_age(&self, age: f64) -> i32 {
        self.dob + (age * YEAR) as i32
    }

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

    fn course(&mut self, start: i32, p_stop: f64, mean_years: f64) -> Course {
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

    fn pick(&mut self, group: &[u32]) -> u32 {
        group[self.rng.skewed(group.len())]
    }

    fn med(&mut self, date: i32, code: u32) {
        if date >= self.lo && date <= self.hi {
            self.out.meds.push(MedRow {
                date,
                id: self.id,
                code,
            });
        }
    }

    /// Repeat issues of one product over a course (every ~28 days, some 56-day scripts).
    fn repeat(&mut self, code: u32, c: Course, base: i32) {
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

    fn event_raw(&mut self, date: i32, code: u32, val: i32, dec: u8, cmp: u8) {
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
    fn event(&mut self, date: i32, code: u32) {
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
    fn contacts(&mut self, lo: i32, hi: i32, rate: f64, at_start: bool, out: &mut Vec<i32>) {
        out.clear();
        if rate <= 0.0 || lo > hi {
            return;
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
    }

    fn panel(&mut self, date: i32, p: Panel, egfr_base: f64) {
        let book = self.m.book;
        if self.rng.chance(p.renal) {
            let c = self.pick(&book.clin.creat);
            self.event(date, c);
            if self.rng.chance(0.95) {
                let c = self.pick(&book.clin.egfr);
                let e = egfr_base - 0.85 * self.age_at(date) + 4.0 * self.rng.normal();
                self.egfr(date, c, e.clamp(3.0, 150.0));
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

    fn bg_event_code(&mut self) -> u32 {
        let pool = &self.m.book.fake_event;
        let n = pool.len() - crate::codes::N_FAKE_DIAGNOSES;
        pool[crate::codes::N_FAKE_DIAGNOSES + self.rng.skewed(n)]
    }

    fn dx(&mut self, date: i32, which: usize) {
        if date != NONE {
            let c = self.m.book.fake_event[which];
            self.event_raw(date, c, 0, NO_VALUE, CMP_NONE);
        }
    }

    /// Re-records a diagnosis code at `rate` per year over [from, to] ∩ record window.
    fn recode(&mut self, from: i32, to: i32, rate: f64, group: &[u32], buf: &mut Vec<i32>) {
        let lo = from.max(self.lo);
        let hi = to.min(self.hi);
        self.contacts(lo, hi, rate, false, buf);
        for d in std::mem::take(buf) {
            let c = self.pick(group);
            self.event_raw(d, c, 0, NO_VALUE, CMP_NONE);
        }
    }

    fn clinical(&mut self, sex: u8, nsaid_factor: f64, monitor_factor: f64) {
        let book = self.m.book;
        let (lo, hi) = (self.lo, self.hi);
        let mut buf = Vec::new();
        let adult = self.date_at_age(18.0);

        // Conditions (cumulative prevalence by age is logistic).
        let ht = self.onset(0.60, 62.0, 12.0, 25.0);
        let boost = self.m.enrich.clamp(1.0, 3.0);
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

        // Diagnosis records: dated at onset (history may predate the extract period).
        for (d, dx) in [
            (ht, DX_HT),
            (af, DX_AF),
            (cvd, DX_CVD),
            (gord, DX_GORD),
            (glauc, DX_GLAUC),
            (ra, DX_RA),
            (bip, DX_BIP),
            (oa, DX_OA),
            (dm, DX_DM),
            (hypo, DX_HYPO),
        ] {
            self.dx(d, dx);
        }
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
            self.recode(asthma, until, 0.25, &book.clin.ast, &mut buf);
            if asthma_back != NONE {
                self.recode(asthma_back, hi, 0.25, &book.clin.ast, &mut buf);
            }
        }
        let asthma_active = |t: i32| {
            asthma != NONE
                && asthma <= t
                && !(asthma_res != NONE
                    && asthma_res <= t
                    && (asthma_back == NONE || t < asthma_back))
        };
        if hf != NONE {
            let c = self.pick(&book.clin.hf);
            self.event_raw(hf, c, 0, NO_VALUE, CMP_NONE);
            self.recode(hf, hi, 0.15, &book.clin.hf, &mut buf);
        }
        if pu != NONE {
            let group = if self.rng.chance(0.65) {
                &book.clin.pep
            } else {
                &book.clin.gib
            };
            let c = self.pick(group);
            self.event_raw(pu, c, 0, NO_VALUE, CMP_NONE);
            self.recode(pu, hi, 0.05, &book.clin.pep, &mut buf);
        }

        // Treatment decisions.
        let r = |s: &mut Self, a: i32, b: i32| s.rng.range(a, b);
        let mut acei_start = OPEN;
        if ht != NONE && self.rng.chance(0.5) {
            acei_start = acei_start.min(ht + r(self, 0, 180));
        }
        if hf != NONE && self.rng.chance(0.7) {
            acei_start = acei_start.min(hf + r(self, 0, 60));
        }
        if dm != NONE && self.rng.chance(0.3) {
            acei_start = acei_start.min(dm + r(self, 0, 365));
        }
        let acei = self.course(some(acei_start), 0.15, 4.0);

        let mut diur_start = OPEN;
        if hf != NONE && self.rng.chance(0.85) {
            diur_start = diur_start.min(hf + r(self, 0, 30));
        }
        if ht != NONE && self.rng.chance(0.07) {
            diur_start = diur_start.min(ht + r(self, 0, 730));
        }
        if self.age_at(hi) >= 72.0 && self.rng.chance(0.04) {
            let from = self.date_at_age(70.0).max(lo);
            diur_start = diur_start.min(r(self, from, hi));
        }
        let diur = self.course(some(diur_start), 0.2, 3.0);

        let mut oac = Course::NO;
        if af != NONE && self.rng.chance(0.78) {
            let s = af + r(self, 0, 90);
            oac = self.course(s, 0.08, 3.0);
        }
        let mut vte_oac = Course::NO;
        if self.rng.chance(0.012 * (1.0 + self.age_at(hi) / 40.0)) {
            let s = r(self, lo.max(adult), hi);
            if s >= adult {
                self.dx(s, DX_VTE);
                vte_oac = Course {
                    start: s,
                    end: s + r(self, 90, 180),
                };
            }
        }

        let mut aspirin = Course::NO;
        let mut nonasp = Course::NO;
        let mut dapt = Course::NO;
        let mut dapt_aspirin = false;
        if cvd != NONE {
            let p = if oac.exists() {
                (0.18 * self.m.enrich).min(1.0)
            } else {
                0.85
            };
            if self.rng.chance(p) {
                let s = cvd + r(self, 0, 30);
                let c = self.course(s, 0.1, 5.0);
                if self.rng.chance(0.55) {
                    aspirin = c;
                } else {
                    nonasp = c;
                }
                if !oac.exists() && self.rng.chance((0.2 * self.m.enrich).min(1.0)) {
                    dapt = Course {
                        start: cvd,
                        end: cvd + r(self, 330, 400),
                    };
                    dapt_aspirin = !aspirin.exists();
                }
            }
        }
        if !aspirin.exists() && !nonasp.exists() && !oac.exists() {
            let pp = (dm != NONE && self.rng.chance(0.08))
                || (self.age_at(hi) >= 72.0 && self.rng.chance(0.03));
            if pp {
                let from = if dm != NONE { dm.max(lo) } else { lo };
                let s = r(self, from, hi);
                aspirin = self.course(s, 0.1, 5.0);
            }
        }

        let mut nsaid_chronic = Course::NO;
        if oa != NONE && self.rng.chance((0.05 * self.m.enrich).min(1.0)) {
            let s = oa + r(self, 0, 1100);
            if s <= hi {
                nsaid_chronic = Course {
                    start: s,
                    end: s + (self.rng.exp(1.5) * YEAR) as i32,
                };
            }
        }

        let mut ppi_start = OPEN;
        if gord != NONE && self.rng.chance(0.75) {
            ppi_start = ppi_start.min(gord + r(self, 0, 60));
        }
        if pu != NONE && self.rng.chance(0.55) {
            ppi_start = ppi_start.min(pu + r(self, 0, 14));
        }
        let ap_start = if aspirin.exists() {
            aspirin.start
        } else {
            nonasp.start
        };
        if ap_start != NONE && self.rng.chance(0.3) {
            ppi_start = ppi_start.min(ap_start);
        }
        if oac.exists() && self.rng.chance(0.12) {
            ppi_start = ppi_start.min(oac.start);
        }
        if nsaid_chronic.exists() && self.rng.chance(0.4) {
            ppi_start = ppi_start.min(nsaid_chronic.start);
        }
        if self.age_at(hi) >= 67.0 && self.rng.chance(0.05) {
            let from = self.date_at_age(65.0).max(lo);
            ppi_start = ppi_start.min(r(self, from, hi));
        }
        let ppi = self.course(some(ppi_start), 0.25, 3.0);

        // Non-selective beta-blockers: avoided (not always) in asthma.
        let enrich = self.m.enrich;
        let avoid = |t: i32| {
            if asthma_active(t) {
                (0.7 * enrich).min(1.0)
            } else {
                1.0
            }
        };
        let mut nsbb: Vec<(Course, u32)> = Vec::new();
        if glauc != NONE {
            let s = glauc + r(self, 0, 90);
            if self.rng.chance(0.28 * avoid(s)) {
                let c = self.course(s, 0.1, 4.0);
                let code = self.pick(&book.med.nsbb_eye);
                nsbb.push((c, code));
            }
        }
        if hf != NONE {
            let s = hf + r(self, 30, 180);
            if self.rng.chance(0.10 * avoid(s)) {
                let c = self.course(s, 0.1, 4.0);
                let code = self.pick(&book.med.carvedilol);
                nsbb.push((c, code));
            }
        }
        if af != NONE {
            let s = af + r(self, 0, 90);
            if self.rng.chance(0.04 * avoid(s)) {
                let c = self.course(s, 0.2, 3.0);
                let code = self.pick(&book.med.nsbb_oral);
                nsbb.push((c, code));
            }
        }
        {
            let from = lo.max(adult);
            if from <= hi {
                self.contacts(from, hi, 0.012 * enrich, false, &mut buf);
                for s in std::mem::take(&mut buf) {
                    if self.rng.chance(avoid(s)) {
                        let c = Course {
                            start: s,
                            end: s + (self.rng.exp(1.2) * YEAR) as i32,
                        };
                        let code = self.pick(&book.med.propranolol);
                        nsbb.push((c, code));
                    }
                }
            }
        }

        let rare = self.m.enrich;
        let mut mtx = Course::NO;
        if ra != NONE && self.rng.chance((0.55 * rare).min(1.0)) {
            let s = ra + r(self, 0, 365);
            mtx = self.course(s, 0.3, 5.0);
        }
        let mut lith = Course::NO;
        if bip != NONE && self.rng.chance((0.07 * rare).min(1.0)) {
            let s = bip + r(self, 0, 1095);
            lith = self.course(s, 0.2, 8.0);
        }
        let mut amio = Course::NO;
        let amio_from = if af != NONE && self.rng.chance((0.04 * rare).min(1.0)) {
            af
        } else if hf != NONE && self.rng.chance((0.02 * rare).min(1.0)) {
            hf
        } else {
            NONE
        };
        if amio_from != NONE {
            let s = amio_from + r(self, 0, 365);
            amio = self.course(s, 0.5, 2.0);
        }

        // Issue the chronic courses.
        let m = &book.med;
        for (course, group) in [
            (acei, &m.acei),
            (diur, &m.diur),
            (oac, &m.oac),
            (vte_oac, &m.oac),
            (aspirin, &m.aspirin),
            (nonasp, &m.nonasp),
            (ppi, &m.ppi),
            (mtx, &m.mtx),
            (lith, &m.lith),
            (amio, &m.amio),
            (nsaid_chronic, &m.nsaid),
        ] {
            if course.exists() {
                let code = self.pick(group);
                self.repeat(code, course, 28);
            }
        }
        if dapt.exists() {
            let group = if dapt_aspirin { &m.aspirin } else { &m.nonasp };
            let code = self.pick(group);
            self.repeat(code, dapt, 28);
        }
        for (c, code) in nsbb {
            self.repeat(code, c, 28);
        }

        // Acute NSAID courses, sometimes with gastroprotection.
        let usual_nsaid = self.pick(&m.nsaid);
        {
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
                    let d2 = d + r(self, 14, 35);
                    self.med(d2, code);
                }
                let pg = if age >= 65.0 { 0.35 } else { 0.15 };
                if !ppi.active(d) && self.rng.chance(pg) {
                    let c = self.pick(&m.ppi);
                    self.med(d, c);
                }
            }
        }

        // Monitoring: general blood tests plus drug-specific monitoring.
        let engagement = if self.rng.chance(0.06) {
            0.2
        } else {
            0.6 + 0.8 * self.rng.f64()
        } * monitor_factor;
        let egfr_base = 131.0 - 4.0 * (boost - 1.0) + 13.0 * self.rng.normal();
        {
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
        for (course, rate, panel, at_start) in [
            (acei, 1.3, RENAL_PANEL, false),
            (diur, 1.3, RENAL_PANEL, false),
            (mtx, 5.6, MTX_PANEL, true),
            (lith, 4.0, LITH_PANEL, true),
            (amio, 1.7, AMIO_PANEL, true),
        ] {
            if course.exists() {
                let a = course.start.max(lo);
                let b = course.end.min(hi);
                self.contacts(
                    a,
                    b,
                    rate * engagement,
                    at_start && course.start >= lo,
                    &mut buf,
                );
                for d in std::mem::take(&mut buf) {
                    self.panel(d, panel, egfr_base);
                }
            }
        }
        if hypo != NONE {
            let a = hypo.max(lo);
            self.contacts(a, hi, engagement, false, &mut buf);
            for d in std::mem::take(&mut buf) {
                self.panel(d, TFT_PANEL, egfr_base);
            }
        }

        // Background activity outside every codelist.
        let bg = self.m.background;
        if bg > 0.0 {
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
            // Chronic medicines outside every codelist (statins, metformin, levothyroxine, ...).
            let mid_age = self.age_at(lo / 2 + hi / 2);
            let n = self
                .rng
                .poisson(bg * (0.1 + 3.5 / (1.0 + (-(mid_age - 60.0) / 10.0).exp())));
            for _ in 0..n {
                let s = r(self, lo - 1800, hi);
                let c = Course {
                    start: s,
                    end: s + (self.rng.exp(4.0) * YEAR) as i32,
                };
                let code = {
                    let pool = &book.fake_med;
                    pool[self.rng.skewed(pool.len())]
                };
                self.repeat(code, c, 28);
            }
            // Acute medicines (antibiotics, creams, ...).
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
                let code = {
                    let pool = &book.fake_med;
                    pool[self.rng.skewed(pool.len())]
                };
                self.med(d, code);
                if self.rng.chance(0.2) {
                    let d2 = d + r(self, 5, 30);
                    self.med(d2, code);
                }
            }
        }
    }
}

fn some(d: i32) -> i32 {
    if d == OPEN {
        NONE
    } else {
        d
    }
}
