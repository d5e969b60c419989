//! The patient model: demography, registrations, conditions, treatment courses, monitoring and
//! background activity. Everything a patient has is drawn from one PRNG stream seeded by
//! `(seed, patient index)`, so a patient's record does not depend on chunking or threads.
//!
//! All tunable rates live in this folder, next to the code that uses them; the comments give
//! the target they were tuned against (INDICATORS.md §8, Q1 2020 national rates).
//!
//! This file holds the row types, the types the parts share and the two drivers:
//! `Model::patient` (demography and registrations, then the clinical record) and
//! `Sim::clinical` (one call per condition or treatment modelled). The parts:
//!
//! * `practices`: list sizes and practice habits (NSAID prescribing, monitoring);
//! * `demography`, `registrations`: age, sex, death, leaving; practice registrations;
//! * `primitives`: the building blocks (courses, repeat issues, coded events, contacts);
//! * `conditions`: onsets of every condition and their diagnosis records (heart failure and
//!   peptic ulcer included); `asthma`: asthma with resolution and relapse;
//! * treatment decisions, one file per drug class: `ace_inhibitors`, `diuretics`,
//!   `anticoagulation`, `antiplatelets`, `nsaids` (also the acute courses), `gastroprotection`,
//!   `beta_blockers`, `methotrexate`, `lithium`, `amiodarone`;
//! * `monitoring` (blood tests) and `renal` (eGFR);
//! * `background`: activity with codes outside every codelist.
//!
//! **The order of the calls is part of the output.** All parts draw from the patient's single
//! stream, so moving a call, or a draw inside a part, changes every later draw of the patient
//! and therefore the files written for a seed. Rows are sorted by date with a stable sort, so the
//! order in which rows are pushed matters as well. This is why the clinical record is built in
//! phases rather than condition by condition: every onset first, then the diagnosis records,
//! then every treatment decision, then the repeat issues of the chronic courses, the acute NSAID
//! courses, the monitoring and the background activity.

use crate::codes::CodeBook;
use crate::dates::days_from_civil;
use crate::rng::Rng;

mod ace_inhibitors;
mod amiodarone;
mod anticoagulation;
mod antiplatelets;
mod asthma;
mod background;
mod beta_blockers;
mod conditions;
mod demography;
mod diuretics;
mod gastroprotection;
mod lithium;
mod methotrexate;
mod monitoring;
mod nsaids;
mod practices;
mod primitives;
mod registrations;
mod renal;

use antiplatelets::Antiplatelets;
pub(crate) use practices::Practices;

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

pub(crate) struct Model<'a> {
    pub book: &'a CodeBook,
    pub practices: &'a Practices,
    pub seed: u64,
    /// Multiplier for rows outside every codelist.
    pub background: f64,
    /// Enrichment of the rare parts of the model (see `SynthConfig::enrich`).
    pub enrich: f64,
}

/// One patient being simulated: the patient's PRNG stream and where the rows go.
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

/// A treatment course (dates inclusive; `end` may be [`OPEN`]).
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

/// Onset dates of the conditions modelled ([`NONE`] when a condition never occurs within the
/// record). See `conditions` for the prevalences.
#[derive(Clone, Copy)]
struct Conditions {
    /// Hypertension.
    ht: i32,
    /// Atrial fibrillation.
    af: i32,
    /// Heart failure.
    hf: i32,
    /// Cardiovascular disease (the event that starts antiplatelets).
    cvd: i32,
    /// Peptic ulcer or GI bleed.
    pu: i32,
    /// Reflux.
    gord: i32,
    /// Asthma (resolution and relapse in `asthma`).
    asthma: i32,
    /// Glaucoma.
    glauc: i32,
    /// Inflammatory arthritis.
    ra: i32,
    /// Bipolar disorder.
    bip: i32,
    /// Osteoarthritis.
    oa: i32,
    /// Diabetes.
    dm: i32,
    /// Hypothyroidism.
    hypo: i32,
}

/// The chronic treatment courses decided for a patient.
struct Treatment {
    acei: Course,
    diur: Course,
    /// Anticoagulant for AF.
    oac: Course,
    /// Anticoagulant for a venous thromboembolism.
    vte_oac: Course,
    antiplatelets: Antiplatelets,
    ppi: Course,
    nsaid_chronic: Course,
    /// Non-selective beta-blocker courses, each with its product.
    nsbb: Vec<(Course, u32)>,
    mtx: Course,
    lith: Course,
    amio: Course,
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

        let person = demography::demography(&mut rng);
        out.patients.push(PatientRow {
            id,
            dob: person.dob,
            sex: person.sex,
            death: person.death,
        });
        let first_practice =
            registrations::registrations(&mut rng, self.practices, id, &person, &mut out.regs);

        let lo = person.start.max(EXTRACT_START);
        let mut hi = EXTRACT_END;
        if person.death != NONE {
            hi = hi.min(person.death);
        }
        if person.reg_end != NONE {
            hi = hi.min(person.reg_end);
        }
        let mut sim = Sim {
            m: self,
            rng,
            out,
            id,
            dob: person.dob,
            lo,
            hi,
        };
        sim.clinical(
            person.sex,
            self.practices.nsaid[first_practice],
            self.practices.monitor[first_practice],
        );
    }
}

impl Sim<'_, '_> {
    /// The clinical record, one call per part of the model. Do not reorder the calls: each one
    /// draws from the patient's stream (see the module documentation).
    fn clinical(&mut self, sex: u8, nsaid_factor: f64, monitor_factor: f64) {
        // Conditions: every onset first, then the diagnosis records.
        let c = self.onsets();
        self.diagnoses(&c);
        let asthma = self.asthma(c.asthma);
        self.heart_failure(c.hf);
        self.peptic_ulcer(c.pu);

        // Treatment decisions.
        let acei = self.ace_inhibitor(&c);
        let diur = self.diuretic(&c);
        let oac = self.af_anticoagulation(c.af);
        let vte_oac = self.vte_anticoagulation();
        let antiplatelets = self.antiplatelets(&c, oac);
        let nsaid_chronic = self.chronic_nsaid(c.oa);
        let ppi = self.gastroprotection(&c, antiplatelets.start(), oac, nsaid_chronic);
        let nsbb = self.beta_blockers(&c, &asthma);
        let mtx = self.methotrexate(c.ra);
        let lith = self.lithium(c.bip);
        let amio = self.amiodarone(c.af, c.hf);
        let rx = Treatment {
            acei,
            diur,
            oac,
            vte_oac,
            antiplatelets,
            ppi,
            nsaid_chronic,
            nsbb,
            mtx,
            lith,
            amio,
        };

        // Issue the chronic courses.
        self.issue_chronic(&rx);

        // Acute NSAID courses, sometimes with gastroprotection.
        self.acute_nsaids(nsaid_factor, rx.ppi);

        // Monitoring: general blood tests plus drug-specific monitoring.
        let engagement = self.engagement(monitor_factor);
        let egfr_base = self.egfr_baseline();
        self.routine_bloods(c.dm, engagement, egfr_base);
        self.drug_monitoring(&rx, engagement, egfr_base);
        self.thyroid_monitoring(c.hypo, engagement, egfr_base);

        // Background activity outside every codelist.
        self.background(sex);
    }

    /// Repeat issues of every chronic course, in a fixed order.
    fn issue_chronic(&mut self, rx: &Treatment) {
        let book = self.m.book;
        let m = &book.med;
        let ap = &rx.antiplatelets;
        for (course, group) in [
            (rx.acei, &m.acei),
            (rx.diur, &m.diur),
            (rx.oac, &m.oac),
            (rx.vte_oac, &m.oac),
            (ap.aspirin, &m.aspirin),
            (ap.nonasp, &m.nonasp),
            (rx.ppi, &m.ppi),
            (rx.mtx, &m.mtx),
            (rx.lith, &m.lith),
            (rx.amio, &m.amio),
            (rx.nsaid_chronic, &m.nsaid),
        ] {
            if course.exists() {
                let code = self.pick(group);
                self.repeat(code, course, 28);
            }
        }
        if ap.dapt.exists() {
            let group = if ap.dapt_aspirin {
                &m.aspirin
            } else {
                &m.nonasp
            };
            let code = self.pick(group);
            self.repeat(code, ap.dapt, 28);
        }
        for &(c, code) in &rx.nsbb {
            self.repeat(code, c, 28);
        }
    }
}

/// A start date built as a minimum over [`OPEN`]: [`NONE`] if nothing lowered it.
fn some(d: i32) -> i32 {
    if d == OPEN {
        NONE
    } else {
        d
    }
}
