//! Resolving an extract spec into raw rows, against a plan (its window boundaries and
//! codelists) and the index dates.

use chrono::{Datelike, NaiveDate, TimeDelta};
use rxscan_core::plan::{Plan, Table};

use crate::generators::{
    ymd, CodeSpec, DateSpec, ExtractSpec, AGES, COMPARATORS, OUTSIDE_CODES, PRACTICE_STYLES, SEXES,
    VALUES,
};
use crate::reference::{self, Patient, RawExtract, Registration, Row};

/// What a spec is resolved against: anchor dates and code pools for each table.
pub struct Ctx {
    first_index: NaiveDate,
    anchors: Vec<NaiveDate>,
    medication_codes: Vec<Vec<String>>,
    event_codes: Vec<Vec<String>>,
}

impl Ctx {
    pub fn new(plan: &Plan, index_dates: &[NaiveDate]) -> Ctx {
        let mut offsets = Vec::new();
        reference::offsets_in(&plan.population, &mut offsets);
        for m in &plan.measures {
            reference::offsets_in(&m.denominator, &mut offsets);
            reference::offsets_in(&m.numerator, &mut offsets);
        }
        let mut anchors = Vec::new();
        for &i in index_dates {
            anchors.push(i);
            // Every month back to I-15m (the published co-prescription code splits W3 by month).
            anchors.extend((1..=15).filter_map(|k| reference::add_months(i, -k)));
            for f in &plan.features {
                if let Ok((lo, hi)) = reference::bounds(i, f.window()) {
                    anchors.extend(lo);
                    anchors.extend(hi);
                }
            }
            for &o in &offsets {
                anchors.extend(reference::shift(i, o).ok());
            }
        }
        anchors.sort();
        anchors.dedup();
        let pool = |t: Table| -> Vec<Vec<String>> {
            let mut groups: Vec<Vec<String>> = plan
                .codelists
                .iter()
                .filter(|c| c.table == t)
                .map(|c| c.codes.clone())
                .collect();
            let other: Vec<String> = plan
                .codelists
                .iter()
                .filter(|c| c.table != t)
                .flat_map(|c| c.codes.iter().cloned())
                .collect();
            if !other.is_empty() {
                groups.push(other);
            }
            groups.push(OUTSIDE_CODES.iter().map(|s| s.to_string()).collect());
            groups
        };
        Ctx {
            first_index: index_dates[0],
            anchors,
            medication_codes: pool(Table::Medications),
            event_codes: pool(Table::ClinicalEvents),
        }
    }

    fn date(&self, d: &DateSpec, earlier: &[NaiveDate]) -> NaiveDate {
        let (base, delta) = match *d {
            DateSpec::Anchor(a, delta) => (self.anchors[a as usize % self.anchors.len()], delta),
            DateSpec::Near(_, delta) if earlier.is_empty() => (self.anchors[0], delta),
            DateSpec::Near(r, delta) => (earlier[r as usize % earlier.len()], delta),
        };
        base + TimeDelta::days(delta as i64)
    }

    fn code(&self, t: Table, c: &CodeSpec, theme: [u8; 3]) -> String {
        let groups = match t {
            Table::Medications => &self.medication_codes,
            Table::ClinicalEvents => &self.event_codes,
        };
        let group = if c.group < 192 {
            theme[c.group as usize % 3]
        } else {
            c.group
        };
        let g = &groups[group as usize % groups.len()];
        let code = &g[c.idx as usize % g.len()];
        if c.padded {
            format!(" {code} ")
        } else {
            code.clone()
        }
    }

    pub fn resolve(&self, spec: &ExtractSpec) -> RawExtract {
        let mut raw = RawExtract::default();
        let names = &PRACTICE_STYLES[spec.practice_style as usize % PRACTICE_STYLES.len()]
            [..spec.practices.clamp(1, 4) as usize];
        for (k, p) in spec.patients.iter().enumerate() {
            let (k, jitter) = (k as i64, p.jitter as i64);
            let id = match spec.id_style {
                0 => k * 2 + jitter % 2,
                1 => k * 1000 + jitter % 1000,
                _ => 9_000_000_000_000_000 + k * 1000 + jitter % 1000,
            };
            let age = AGES[p.age as usize % AGES.len()];
            let total = self.first_index.year() * 12 + self.first_index.month0() as i32 - age * 12
                + p.dob_months as i32;
            let (y, m) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
            // Days 29-31 where the month has them (29 February in leap years), else the 28th.
            let dob = NaiveDate::from_ymd_opt(y, m, p.dob_day.clamp(1, 31) as u32)
                .unwrap_or(ymd(y, m, 28));
            let mut meds = Vec::new();
            for r in &p.meds {
                let date = self.date(&r.date, &meds);
                meds.push(date);
                raw.medications.push(Row {
                    patient_id: id,
                    date,
                    code: self.code(Table::Medications, &r.code, p.theme),
                    value: None,
                    comparator: String::new(),
                });
            }
            let mut events = Vec::new();
            for r in &p.events {
                let date = self.date(&r.date, &events);
                events.push(date);
                raw.clinical_events.push(Row {
                    patient_id: id,
                    date,
                    code: self.code(Table::ClinicalEvents, &r.code, p.theme),
                    value: VALUES[r.value as usize % VALUES.len()],
                    comparator: COMPARATORS[r.comparator as usize % COMPARATORS.len()].to_string(),
                });
            }
            let death = p.death.as_ref().map(|d| self.date(d, &meds).max(dob));
            raw.patients.push(Patient {
                id,
                date_of_birth: dob,
                sex: SEXES[p.sex as usize % SEXES.len()].to_string(),
                date_of_death: death,
            });
            let mut seen = Vec::new();
            let mut previous_end: Option<NaiveDate> = None;
            for r in &p.regs {
                let mut start = self.date(&r.start, &seen);
                if r.restart {
                    start = previous_end.unwrap_or(start);
                }
                let mut end = r.end.as_ref().map(|e| self.date(e, &seen));
                if let Some(e) = end {
                    if e < start {
                        (start, end) = (e, Some(start));
                    }
                }
                seen.push(start);
                seen.extend(end);
                previous_end = end;
                raw.registrations.push(Registration {
                    patient_id: id,
                    start,
                    end,
                    practice: names[r.practice as usize % names.len()].to_string(),
                });
            }
        }
        raw
    }
}
