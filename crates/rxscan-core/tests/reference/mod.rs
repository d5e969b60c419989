//! A reference evaluator for a compiled [`Plan`], written to be obviously right rather than fast.
//!
//! It shares nothing with `rxscan_core::eval` but the Plan it reads: the data are the raw rows
//! exactly as written to the extract files (dates as `chrono::NaiveDate`, codes as strings,
//! rows in file order), and every question is answered by the plainest loop:
//! - for each index date and patient, every feature scans **all** of the patient's rows: no
//!   interning, no bitsets, no sorting, no binary search, no parallelism;
//! - `has`: any matching row in the window; `latest`: the greatest date, ties to the smallest
//!   value (missing last), then the smallest comparator as text (docs/DATA-CONTRACT.md);
//!   `within`: a double loop over every pair of rows;
//! - month arithmetic is done here with chrono (keep the day of the month, move the month,
//!   error when that day does not exist: cohort-extractor, INDICATORS.md §2.2);
//! - registration and practice attribution per INDICATORS.md §2.7 (start ≤ I < end; several:
//!   latest start, then latest end with an ongoing one latest, then the first in input order);
//! - age per §2.6; formulas with the Plan's missing-value rules (a comparison or `in` with a
//!   missing side is false; `exists`; `coalesce`).
//!
//! A patient is counted at an index date when they have a current registration and the plan's
//! population formula is true (as the engine defines it).
#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet};

use chrono::{Datelike, NaiveDate, TimeDelta};
use rxscan_core::plan::{CmpOp, Expr, Feature, Offset, Plan, RecordField, Table, Window};

/// One row of `patients`.
#[derive(Debug, Clone, PartialEq)]
pub struct Patient {
    pub id: i64,
    pub date_of_birth: NaiveDate,
    /// As written in the file (`M`, `female`, `Unknown`, ...).
    pub sex: String,
    pub date_of_death: Option<NaiveDate>,
}

/// One row of `practice_registrations`.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    pub patient_id: i64,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    pub practice: String,
}

/// One row of `medications` (value `None`, comparator empty) or `clinical_events`.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub patient_id: i64,
    pub date: NaiveDate,
    /// As written (may carry surrounding spaces; codes match after trimming).
    pub code: String,
    pub value: Option<f64>,
    /// As written (may carry surrounding spaces).
    pub comparator: String,
}

/// The four tables, rows in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawExtract {
    pub patients: Vec<Patient>,
    pub registrations: Vec<Registration>,
    pub medications: Vec<Row>,
    pub clinical_events: Vec<Row>,
}

/// Everything a scan produces, keyed by strings so two runs over different files (or the
/// engine and this reference) compare directly.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// (index date, patient id, measure) → (practice, numerator), for denominator patients.
    pub patients: BTreeMap<(String, i64, String), (String, bool)>,
    /// (index date, practice) → patients in the population (practices with at least one).
    pub population: BTreeMap<(String, String), u64>,
    /// (index date, practice, measure) → (numerator, denominator), for every practice that
    /// has a population patient at that date (zeros included).
    pub counts: BTreeMap<(String, String, String), (u64, u64)>,
    /// (index date, practice, composite) → (denominator, histogram by number of member
    /// numerators, n = 0 ..= members).
    pub composites: BTreeMap<(String, String, String), (u64, Vec<u64>)>,
    /// Numerator true with the denominator false (the Plan promises this never happens).
    pub numerator_outside_denominator: Vec<(String, i64, String)>,
}

pub fn iso(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// `d` moved by `months` calendar months, keeping the day of the month; `None` when that day
/// does not exist in the target month, or the year leaves 1..=9999 (the library's range).
pub fn add_months(d: NaiveDate, months: i32) -> Option<NaiveDate> {
    let total = d.year() as i64 * 12 + d.month0() as i64 + months as i64;
    let year = total.div_euclid(12);
    let month = total.rem_euclid(12) as u32 + 1;
    if !(1..=9999).contains(&year) {
        return None;
    }
    NaiveDate::from_ymd_opt(year as i32, month, d.day())
}

/// `index + offset` (months first, then days).
pub fn shift(index: NaiveDate, o: Offset) -> Result<NaiveDate, String> {
    let moved = add_months(index, o.months)
        .ok_or_else(|| format!("{} {:+} months does not exist", iso(index), o.months))?;
    moved
        .checked_add_signed(TimeDelta::days(o.days as i64))
        .ok_or_else(|| format!("{} {:+} days is out of range", iso(moved), o.days))
}

/// Inclusive bounds; `None` is open.
pub fn bounds(
    index: NaiveDate,
    w: Window,
) -> Result<(Option<NaiveDate>, Option<NaiveDate>), String> {
    let lo = match w.start {
        Some(o) => Some(shift(index, o)?),
        None => None,
    };
    let hi = match w.end {
        Some(o) => Some(shift(index, o)?),
        None => None,
    };
    Ok((lo, hi))
}

fn in_window(d: NaiveDate, (lo, hi): (Option<NaiveDate>, Option<NaiveDate>)) -> bool {
    lo.is_none_or(|lo| d >= lo) && hi.is_none_or(|hi| d <= hi)
}

/// Completed years (INDICATORS.md §2.6): a birthday on the date counts.
pub fn age(dob: NaiveDate, at: NaiveDate) -> i64 {
    let mut years = at.year() as i64 - dob.year() as i64;
    if (at.month(), at.day()) < (dob.month(), dob.day()) {
        years -= 1;
    }
    years
}

/// The data contract's sex spellings, as the Plan's one letter.
pub fn sex_letter(s: &str) -> &'static str {
    match s.trim().to_lowercase().as_str() {
        "m" | "male" => "M",
        "f" | "female" => "F",
        "i" | "intersex" => "I",
        "u" | "unknown" => "U",
        other => panic!("the generator wrote an invalid sex {other:?}"),
    }
}

/// How `latest` orders rows on one day: a smaller value first, a missing value after every
/// number, then the comparator as text (missing = empty); the first of equal rows.
fn tie_key(r: &Row) -> (bool, f64, &str) {
    (
        r.value.is_none(),
        r.value.unwrap_or(0.0),
        r.comparator.trim(),
    )
}

/// The practice of the registration current at `index` (INDICATORS.md §2.7).
pub fn current_practice(regs: &[&Registration], index: NaiveDate) -> Option<String> {
    // An ongoing registration ends after every date.
    let end_rank = |r: &Registration| match r.end {
        None => (1, NaiveDate::MIN),
        Some(e) => (0, e),
    };
    let mut best: Option<&Registration> = None;
    for &r in regs {
        let current = r.start <= index && r.end.is_none_or(|e| e > index);
        if !current {
            continue;
        }
        best = match best {
            None => Some(r),
            Some(b) => {
                let later = r.start > b.start || (r.start == b.start && end_rank(r) > end_rank(b));
                if later {
                    Some(r)
                } else {
                    Some(b)
                }
            }
        };
    }
    best.map(|r| r.practice.trim().to_string())
}

#[derive(Debug, Clone, PartialEq)]
enum V {
    Bool(bool),
    Num(f64),
    Str(String),
    Date(NaiveDate),
    Missing,
}

/// One patient at one index date.
struct Env<'a> {
    plan: &'a Plan,
    codes: &'a [HashSet<String>],
    patient: &'a Patient,
    regs: Vec<&'a Registration>,
    meds: Vec<&'a Row>,
    events: Vec<&'a Row>,
    index: NaiveDate,
}

impl Env<'_> {
    fn rows(&self, codelist: usize) -> &[&Row] {
        match self.plan.codelists[codelist].table {
            Table::Medications => &self.meds,
            Table::ClinicalEvents => &self.events,
        }
    }

    fn matches(&self, codelist: usize, row: &Row) -> bool {
        self.codes[codelist].contains(row.code.trim())
    }

    fn window(&self, w: Window) -> (Option<NaiveDate>, Option<NaiveDate>) {
        bounds(self.index, w).expect("every window was checked before evaluation")
    }

    fn flag(&self, f: usize) -> bool {
        match self.plan.features[f] {
            Feature::Has { codelist, window } => {
                let w = self.window(window);
                self.rows(codelist)
                    .iter()
                    .any(|r| self.matches(codelist, r) && in_window(r.date, w))
            }
            Feature::Within {
                a,
                b,
                max_gap_days,
                window,
            } => {
                let w = self.window(window);
                let mut found = false;
                for x in self.rows(a) {
                    for y in self.rows(b) {
                        if self.matches(a, x)
                            && self.matches(b, y)
                            && in_window(x.date, w)
                            && in_window(y.date, w)
                            && (x.date - y.date).num_days().abs() <= max_gap_days as i64
                        {
                            found = true;
                        }
                    }
                }
                found
            }
            Feature::Latest { .. } => panic!("feature {f} is a `latest`, used as a flag"),
        }
    }

    fn latest(&self, f: usize) -> Option<&Row> {
        let Feature::Latest { codelist, window } = self.plan.features[f] else {
            panic!("feature {f} is not a `latest`")
        };
        let w = self.window(window);
        let mut best: Option<&Row> = None;
        for &r in self.rows(codelist) {
            if self.matches(codelist, r)
                && in_window(r.date, w)
                && best.is_none_or(|b| {
                    r.date > b.date || (r.date == b.date && tie_key(r) < tie_key(b))
                })
            {
                best = Some(r);
            }
        }
        best
    }

    fn eval(&self, e: &Expr) -> V {
        match e {
            Expr::Bool(b) => V::Bool(*b),
            Expr::Num(n) => V::Num(*n),
            Expr::Str(s) => V::Str(s.clone()),
            Expr::Age => V::Num(age(self.patient.date_of_birth, self.index) as f64),
            Expr::Sex => V::Str(sex_letter(&self.patient.sex).to_string()),
            Expr::Registered => V::Bool(current_practice(&self.regs, self.index).is_some()),
            Expr::Dead => V::Bool(self.patient.date_of_death.is_some_and(|d| d <= self.index)),
            Expr::IndexDate(o) => V::Date(
                shift(self.index, *o)
                    .expect("every index-relative date was checked before evaluation"),
            ),
            Expr::Flag(f) => V::Bool(self.flag(*f)),
            Expr::RecordExists(f) => V::Bool(self.latest(*f).is_some()),
            Expr::Record(f, field) => match self.latest(*f) {
                None => V::Missing,
                Some(r) => match field {
                    RecordField::Date => V::Date(r.date),
                    RecordField::Value => r.value.map_or(V::Missing, V::Num),
                    RecordField::Comparator => V::Str(r.comparator.trim().to_string()),
                },
            },
            Expr::Exists(x) => V::Bool(self.eval(x) != V::Missing),
            Expr::Coalesce(a, b) => match self.eval(a) {
                V::Missing => self.eval(b),
                v => v,
            },
            Expr::Not(x) => V::Bool(!self.truth(x)),
            Expr::And(xs) => {
                let mut all = true;
                for x in xs {
                    all &= self.truth(x);
                }
                V::Bool(all)
            }
            Expr::Or(xs) => {
                let mut any = false;
                for x in xs {
                    any |= self.truth(x);
                }
                V::Bool(any)
            }
            Expr::Cmp(op, a, b) => V::Bool(compare(*op, &self.eval(a), &self.eval(b))),
            Expr::In(x, items) => {
                let v = self.eval(x);
                let mut found = false;
                for item in items {
                    found |= compare(CmpOp::Eq, &v, &self.eval(item));
                }
                V::Bool(found)
            }
        }
    }

    fn truth(&self, e: &Expr) -> bool {
        match self.eval(e) {
            V::Bool(b) => b,
            other => panic!("a condition evaluated to {other:?}: {e:?}"),
        }
    }
}

/// A comparison with a missing side is false. Both sides have one type in a compiled plan.
fn compare(op: CmpOp, a: &V, b: &V) -> bool {
    use std::cmp::Ordering;
    let ord: Ordering = match (a, b) {
        (V::Missing, _) | (_, V::Missing) => return false,
        (V::Num(x), V::Num(y)) => match x.partial_cmp(y) {
            Some(o) => o,
            None => return false,
        },
        (V::Str(x), V::Str(y)) => x.as_str().cmp(y.as_str()),
        (V::Date(x), V::Date(y)) => x.cmp(y),
        (V::Bool(x), V::Bool(y)) => x.cmp(y),
        _ => panic!("a compiled plan compares {a:?} with {b:?}"),
    };
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    }
}

pub fn offsets_in(e: &Expr, out: &mut Vec<Offset>) {
    match e {
        Expr::IndexDate(o) => out.push(*o),
        Expr::Exists(x) | Expr::Not(x) => offsets_in(x, out),
        Expr::Coalesce(a, b) | Expr::Cmp(_, a, b) => {
            offsets_in(a, out);
            offsets_in(b, out);
        }
        Expr::And(xs) | Expr::Or(xs) => xs.iter().for_each(|x| offsets_in(x, out)),
        Expr::In(x, xs) => {
            offsets_in(x, out);
            xs.iter().for_each(|x| offsets_in(x, out));
        }
        _ => {}
    }
}

/// Evaluate `plan` over the raw tables at every index date. `Err` when some date the plan
/// needs does not exist (cohort-extractor computes every variable for every patient, so an
/// impossible window date is an error whatever the data).
pub fn evaluate(
    plan: &Plan,
    ex: &RawExtract,
    index_dates: &[NaiveDate],
) -> Result<Outcome, String> {
    let codes: Vec<HashSet<String>> = plan
        .codelists
        .iter()
        .map(|c| c.codes.iter().map(|s| s.trim().to_string()).collect())
        .collect();
    let mut formula_offsets = Vec::new();
    offsets_in(&plan.population, &mut formula_offsets);
    for m in &plan.measures {
        offsets_in(&m.denominator, &mut formula_offsets);
        offsets_in(&m.numerator, &mut formula_offsets);
    }
    let mut out = Outcome::default();
    for &index in index_dates {
        for f in &plan.features {
            bounds(index, f.window())?;
        }
        for &o in &formula_offsets {
            shift(index, o)?;
        }
        let date = iso(index);
        for patient in &ex.patients {
            let env = Env {
                plan,
                codes: &codes,
                patient,
                regs: ex
                    .registrations
                    .iter()
                    .filter(|r| r.patient_id == patient.id)
                    .collect(),
                meds: ex
                    .medications
                    .iter()
                    .filter(|r| r.patient_id == patient.id)
                    .collect(),
                events: ex
                    .clinical_events
                    .iter()
                    .filter(|r| r.patient_id == patient.id)
                    .collect(),
                index,
            };
            let Some(practice) = current_practice(&env.regs, index) else {
                continue;
            };
            if !env.truth(&plan.population) {
                continue;
            }
            *out.population
                .entry((date.clone(), practice.clone()))
                .or_default() += 1;
            let mut den = Vec::new();
            let mut num = Vec::new();
            for m in &plan.measures {
                let d = env.truth(&m.denominator);
                let n = env.truth(&m.numerator);
                den.push(d);
                num.push(n);
                let count = out
                    .counts
                    .entry((date.clone(), practice.clone(), m.id.clone()))
                    .or_default();
                count.0 += n as u64;
                count.1 += d as u64;
                if d {
                    out.patients.insert(
                        (date.clone(), patient.id, m.id.clone()),
                        (practice.clone(), n),
                    );
                } else if n {
                    out.numerator_outside_denominator.push((
                        date.clone(),
                        patient.id,
                        m.id.clone(),
                    ));
                }
            }
            for c in &plan.composites {
                let entry = out
                    .composites
                    .entry((date.clone(), practice.clone(), c.id.clone()))
                    .or_insert_with(|| (0, vec![0; c.members.len() + 1]));
                if c.members.iter().any(|&m| den[m]) {
                    entry.0 += 1;
                    let n = c.members.iter().filter(|&&m| num[m]).count();
                    entry.1[n] += 1;
                }
            }
        }
    }
    Ok(out)
}
