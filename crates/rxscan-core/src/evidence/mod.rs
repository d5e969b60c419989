//! Stage: evidence. Why a patient is (or is not) in a measure's numerator: every condition of
//! the measure's denominator and numerator at one index date, with its truth value and the
//! extract rows behind it (`trace.rs`), the formulas printed as the rule wrote them
//! (`text.rs`).
//!
//! Evidence runs *after* the counting pass and only for the patients asked about: the flagged
//! ones ([`for_flagged`], which `evidence.jsonl` and the action lists render), or one patient
//! (`rxscan why`, [`crate::output::why::tree`]). A scan without it costs what it cost before.
//!
//! The loader drops rows a scan cannot see ([`crate::scan::rows`]), which would hide "the last
//! lithium level before the window". A scan that wants evidence asks for more history
//! ([`crate::Scan::with_evidence`]): the features whose absence can make a condition true (those
//! under an odd number of `not`, or read through `exists`/`coalesce`) also keep, for each
//! patient and code, the latest row before the rows counting keeps, from the whole record
//! (`rxscan why` asks the same for every feature). The trace is told what was loaded
//! ([`History`]) and looks for the last row only for those features, so the row it names is
//! the input's last matching row before the window, never a row that merely survived the
//! filter.

mod reason;
mod text;
mod trace;

use rayon::prelude::*;

pub use text::{number, Names};
pub use trace::{Node, Row, Searched, Value};

use crate::dates::Day;
use crate::eval::EvalError;
use crate::extract::{Extract, History, NO_DATE};
use crate::plan::{Expr, Plan};
use crate::results::Results;
use trace::{Context, Patient, Template};

/// Why evidence cannot be given.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    #[error("patient {0} is not in the extract's patients table")]
    UnknownPatient(i64),
    #[error("no measure `{id}`; measures: {known}")]
    UnknownMeasure { id: String, known: String },
    #[error(transparent)]
    Evaluate(#[from] EvalError),
}

/// One measure traced for one patient at one index date.
#[derive(Debug, Clone)]
pub struct MeasureTrace {
    /// Index into [`Plan::measures`].
    pub measure: usize,
    pub denominator: Node,
    /// The numerator as the rule wrote it (without the denominator the compiler conjoins).
    pub numerator: Node,
    /// Counted (registered, in the population), denominator and numerator true: the verdict
    /// the counting pass gives.
    pub in_denominator: bool,
    pub in_numerator: bool,
}

impl MeasureTrace {
    /// The conditions (true/false nodes) that decided the denominator, then the numerator,
    /// parents first ([`Node::walk_deciding`]).
    pub fn conditions(&self) -> impl Iterator<Item = &Node> {
        self.denominator
            .walk_deciding()
            .into_iter()
            .chain(self.numerator.walk_deciding())
            .filter(|n| n.is_condition())
    }
}

/// One patient at one index date: registration, population, and the measures traced.
#[derive(Debug, Clone)]
pub struct PatientTrace {
    pub patient_id: i64,
    pub index_date: Day,
    /// The practice of the registration current at the index date, if any.
    pub practice: Option<String>,
    pub population: Node,
    pub measures: Vec<MeasureTrace>,
}

/// Traces patients of one extract against one plan (the per-plan work done once).
pub struct Tracer<'a> {
    cx: Context<'a>,
    population: Template,
    /// Per measure: denominator and the numerator as written.
    measures: Vec<(Template, Template)>,
}

/// The numerator as the rule wrote it: the compiler stores `denominator and numerator`.
fn own_numerator<'e>(den: &Expr, num: &'e Expr) -> std::borrow::Cow<'e, Expr> {
    match num {
        Expr::And(v) if v.len() == 2 && &v[0] == den => std::borrow::Cow::Borrowed(&v[1]),
        Expr::And(v) if v.len() > 2 && &v[0] == den => {
            std::borrow::Cow::Owned(Expr::And(v[1..].to_vec()))
        }
        other => std::borrow::Cow::Borrowed(other),
    }
}

impl<'a> Tracer<'a> {
    /// `history`: which rows before the windows were loaded ([`crate::Scan::history`]; on a
    /// scan with evidence, for the patients a numerator can hold for:
    /// [`crate::Scan::with_evidence`]).
    pub fn new(plan: &'a Plan, extract: &'a Extract, history: &'a History) -> Tracer<'a> {
        Tracer::of(plan, extract, history, None)
    }

    /// A tracer of only the patients `wanted` says (by index): their rows set apart as history
    /// are grouped, no one else's (tracing another patient would miss its last rows before
    /// the windows).
    fn of(
        plan: &'a Plan,
        extract: &'a Extract,
        history: &'a History,
        wanted: Option<&[bool]>,
    ) -> Tracer<'a> {
        let names = Names::new(plan);
        Tracer {
            cx: Context::new(plan, extract, history, wanted),
            population: Template::new(&names, &plan.population),
            measures: plan
                .measures
                .iter()
                .map(|m| {
                    (
                        Template::new(&names, &m.denominator),
                        Template::new(&names, &own_numerator(&m.denominator, &m.numerator)),
                    )
                })
                .collect(),
        }
    }

    /// The dense index of a patient id.
    pub fn patient_index(&self, patient_id: i64) -> Result<usize, EvidenceError> {
        self.cx
            .extract
            .patient_ids
            .binary_search(&patient_id)
            .map_err(|_| EvidenceError::UnknownPatient(patient_id))
    }

    fn check_date(&self, index: Day) -> Result<(), EvalError> {
        match self.cx.extract.index_date_range {
            Some((from, to)) if index < from || index > to => Err(EvalError::OutsideLoadedDates {
                date: crate::dates::format_iso(index),
                from: crate::dates::format_iso(from),
                to: crate::dates::format_iso(to),
            }),
            _ => Ok(()),
        }
    }

    fn counted(&self, pt: &Patient) -> Result<(bool, Node), EvalError> {
        let population = pt.node(&self.population)?;
        Ok((pt.registered() && population.value.holds(), population))
    }

    fn measure_at(&self, pt: &Patient, m: usize, counted: bool) -> Result<MeasureTrace, EvalError> {
        let (den, num) = &self.measures[m];
        let denominator = pt.node(den)?;
        let numerator = pt.node(num)?;
        let in_denominator = counted && denominator.value.holds();
        Ok(MeasureTrace {
            measure: m,
            in_numerator: in_denominator && numerator.value.holds(),
            in_denominator,
            denominator,
            numerator,
        })
    }

    /// One measure for dense patient `p` at `index`, evaluating only what decides it (an
    /// `and` stops at its first false operand, an `or` at its first true one).
    pub fn measure(&self, p: usize, index: Day, m: usize) -> Result<MeasureTrace, EvalError> {
        self.check_date(index)?;
        let pt = Patient {
            cx: &self.cx,
            p,
            index,
            full: false,
        };
        let (counted, _) = self.counted(&pt)?;
        self.measure_at(&pt, m, counted)
    }

    /// Every measure (or the listed ones) for dense patient `p` at `index`, every operand
    /// evaluated (what `rxscan why` shows).
    pub fn patient(
        &self,
        p: usize,
        index: Day,
        measures: &[usize],
    ) -> Result<PatientTrace, EvalError> {
        self.check_date(index)?;
        let pt = Patient {
            cx: &self.cx,
            p,
            index,
            full: true,
        };
        let (counted, population) = self.counted(&pt)?;
        Ok(PatientTrace {
            patient_id: self.cx.extract.patient_ids[p],
            index_date: index,
            practice: current_practice(self.cx.extract, p, index),
            population,
            measures: measures
                .iter()
                .map(|&m| self.measure_at(&pt, m, counted))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// The practice of the registration current at `index` (INDICATORS.md §2.7: latest start, then
/// latest end with an ongoing one latest, then the first in input order).
fn current_practice(ex: &Extract, p: usize, index: Day) -> Option<String> {
    let r = &ex.registrations;
    let mut best: Option<usize> = None;
    for i in r.offsets[p]..r.offsets[p + 1] {
        if r.start[i] <= index && (r.end[i] == NO_DATE || index < r.end[i]) {
            // NO_DATE is the greatest day, so an ongoing registration ends latest.
            if best.is_none_or(|b| (r.start[b], r.end[b]) < (r.start[i], r.end[i])) {
                best = Some(i);
            }
        }
    }
    best.map(|i| ex.practices[r.practice[i] as usize].clone())
}

/// One flagged (index date, patient, measure) and its trace.
#[derive(Debug, Clone)]
pub struct Flagged {
    pub index_date: Day,
    pub patient_id: i64,
    pub practice: String,
    pub trace: MeasureTrace,
    /// The one-line reason of the action lists (`reason.rs`), for the flags at the scan's last
    /// index date (the only ones the lists show); `None` at earlier dates.
    pub reason: Option<String>,
}

/// The evidence of a scan: every flagged patient's trace, in `patients.csv` order (date,
/// patient, measure).
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub flagged: Vec<Flagged>,
}

/// Trace every (index date, patient, measure) whose numerator the counting pass found true.
/// `results` must carry its patient rows ([`crate::eval::EvalOptions::patient_rows`]).
/// `extract` was loaded with `history` ([`crate::Scan::history`] of the scan that loaded it).
pub fn for_flagged(
    plan: &Plan,
    history: &History,
    extract: &Extract,
    results: &Results,
) -> Result<Evidence, EvidenceError> {
    let mut flagged = vec![false; extract.patient_ids.len()];
    for f in results.patient_rows.iter().filter(|f| f.numerator) {
        flagged[f.patient as usize] = true;
    }
    let tracer = Tracer::of(plan, extract, history, Some(&flagged));
    let last = results.index_dates.iter().max().copied();
    let flagged = results
        .patient_rows
        .par_iter()
        .filter(|f| f.numerator)
        .map(|f| {
            let index = results.index_dates[f.date as usize];
            let trace = tracer.measure(f.patient as usize, index, f.measure as usize)?;
            Ok(Flagged {
                index_date: index,
                patient_id: results.patient_ids[f.patient as usize],
                practice: results.practices[f.practice as usize].clone(),
                reason: (Some(index) == last).then(|| reason::reason(&trace)),
                trace,
            })
        })
        .collect::<Result<Vec<_>, EvalError>>()?;
    Ok(Evidence { flagged })
}

/// The measures named by `measure` (all when `None`), or the error listing them.
pub fn measures_named(plan: &Plan, measure: Option<&str>) -> Result<Vec<usize>, EvidenceError> {
    match measure {
        None => Ok((0..plan.measures.len()).collect()),
        Some(id) => match plan.measures.iter().position(|m| m.id == id) {
            Some(i) => Ok(vec![i]),
            None => Err(EvidenceError::UnknownMeasure {
                id: id.to_string(),
                known: plan
                    .measures
                    .iter()
                    .map(|m| m.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        },
    }
}
