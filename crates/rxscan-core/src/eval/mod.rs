//! Stage: evaluate a plan over an extract for one or more index dates.
//!
//! Patients are independent, so the work is split into chunks of patients that rayon spreads
//! over threads; each thread folds into its own counters, merged at the end, so results are
//! identical for any thread count (integer sums, and patient rows sorted afterwards).
//!
//! For one patient the evaluator makes **one pass** over the patient's rows whatever the number
//! of index dates: each row's code has a precomputed codelist bitmask (membership is decided
//! once per distinct code, never per row), and a matching row's (day, row) is appended to that
//! codelist's hit list. The lists are sorted by day; then, for each index date, every feature
//! is answered from them by binary search (`has`, `latest`) or a two-pointer sweep
//! (`within`). Scratch vectors are owned by the thread and reused, so the hot loop does not
//! allocate per patient.

pub mod formula;

use std::cell::Cell;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::dates::{self, Day};
use crate::extract::{Comparator, EventTable, Extract, NO_DATE};
use crate::plan::{Expr, Feature, Offset, Plan, Table, Window};
use crate::results::{PatientFlag, Results};
use formula::{Ctx, Rec};

/// Patients per unit of work (tasks are a few contiguous ranges per thread).
const CHUNK: usize = 2048;

#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    /// Collect one row per patient, index date and measure where the patient is in the
    /// denominator (`patients.csv`).
    pub patient_rows: bool,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    #[error("no index dates given")]
    NoIndexDates,
    #[error("index date {date}: {date} {sign} {months} month(s) is not a calendar day (the day of the month does not exist in the target month); use index dates on the 1st of the month")]
    ImpossibleDate {
        date: String,
        sign: char,
        months: i32,
    },
    #[error("the plan has {0} codelists for one table; the limit is 4096")]
    TooManyCodelists(usize),
    #[error("index date {date} is outside {from}..{to}, the index dates the extract was loaded for (LoadOptions::for_plan_at); load it again for this date")]
    OutsideLoadedDates {
        date: String,
        from: String,
        to: String,
    },
}

/// Per-table codelist membership, decided once per distinct code.
struct Membership {
    /// Bit words per code: `words` u64s for each code of the table's dictionary.
    bits: Vec<u64>,
    words: usize,
    /// Plan codelist index of each local bit.
    global: Vec<usize>,
}

impl Membership {
    fn new(plan: &Plan, table: &EventTable, t: Table) -> Membership {
        let global: Vec<usize> = plan
            .codelists
            .iter()
            .enumerate()
            .filter(|(_, c)| c.table == t)
            .map(|(i, _)| i)
            .collect();
        let words = global.len().div_ceil(64).max(1);
        let mut bits = vec![0u64; table.codes.len() * words];
        let index: FxHashMap<&str, usize> = table
            .codes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i))
            .collect();
        for (bit, &g) in global.iter().enumerate() {
            for code in &plan.codelists[g].codes {
                if let Some(&i) = index.get(code.as_str()) {
                    bits[i * words + bit / 64] |= 1 << (bit % 64);
                }
            }
        }
        Membership {
            bits,
            words,
            global,
        }
    }
}

/// One matching row: its day and its row index in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Hit {
    day: Day,
    row: u32,
}

/// Per-date constants: window bounds per feature and the days of index-relative dates.
struct DateFrame {
    index: Day,
    ymd: (i32, u32, u32),
    bounds: Vec<(Day, Day)>,
    offset_days: Vec<(Offset, Day)>,
}

fn shift(index: Day, o: Offset) -> Result<Day, EvalError> {
    dates::add_months(index, o.months)
        .map(|d| d + o.days)
        .ok_or(EvalError::ImpossibleDate {
            date: dates::format_iso(index),
            sign: if o.months < 0 { '-' } else { '+' },
            months: o.months.abs(),
        })
}

fn bounds(index: Day, w: Window) -> Result<(Day, Day), EvalError> {
    let lo = match w.start {
        Some(o) => shift(index, o)?,
        None => Day::MIN,
    };
    let hi = match w.end {
        Some(o) => shift(index, o)?,
        None => Day::MAX,
    };
    Ok((lo, hi))
}

fn collect_offsets(e: &Expr, out: &mut Vec<Offset>) {
    match e {
        Expr::IndexDate(o) if !out.contains(o) => out.push(*o),
        Expr::Exists(x) | Expr::Not(x) => collect_offsets(x, out),
        Expr::Coalesce(a, b) | Expr::Cmp(_, a, b) => {
            collect_offsets(a, out);
            collect_offsets(b, out);
        }
        Expr::And(xs) | Expr::Or(xs) => xs.iter().for_each(|x| collect_offsets(x, out)),
        Expr::In(x, xs) => {
            collect_offsets(x, out);
            xs.iter().for_each(|x| collect_offsets(x, out));
        }
        _ => {}
    }
}

/// Thread-local state: counters and reusable scratch space.
struct Acc {
    /// `[date][practice][measure]`.
    num: Vec<u64>,
    den: Vec<u64>,
    /// `[date][practice]`.
    population: Vec<u64>,
    /// `[date][practice][composite]`.
    comp_den: Vec<u64>,
    /// `[date][practice][composite][n]`, n in 0..=max members.
    comp_hist: Vec<u64>,
    rows: Vec<PatientFlag>,
    hits: Vec<Vec<Hit>>,
    /// Per-feature cache for the current patient and date: 0 unknown, 1 false, 2 true.
    flags: Vec<Cell<u8>>,
    records: Vec<Cell<Option<Option<Rec>>>>,
    den_now: Vec<bool>,
    num_now: Vec<bool>,
}

struct Shape {
    dates: usize,
    practices: usize,
    measures: usize,
    composites: usize,
    max_members: usize,
}

impl Acc {
    fn new(s: &Shape, plan: &Plan) -> Acc {
        let dp = s.dates * s.practices;
        Acc {
            num: vec![0; dp * s.measures],
            den: vec![0; dp * s.measures],
            population: vec![0; dp],
            comp_den: vec![0; dp * s.composites],
            comp_hist: vec![0; dp * s.composites * (s.max_members + 1)],
            rows: Vec::new(),
            hits: vec![Vec::new(); plan.codelists.len()],
            flags: vec![Cell::new(0); plan.features.len()],
            records: vec![Cell::new(None); plan.features.len()],
            den_now: vec![false; s.measures],
            num_now: vec![false; s.measures],
        }
    }
    fn merge(mut self, other: Acc) -> Acc {
        let add = |a: &mut Vec<u64>, b: &Vec<u64>| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        add(&mut self.num, &other.num);
        add(&mut self.den, &other.den);
        add(&mut self.population, &other.population);
        add(&mut self.comp_den, &other.comp_den);
        add(&mut self.comp_hist, &other.comp_hist);
        self.rows.extend(other.rows);
        self
    }
}

/// Evaluate `plan` over `extract` at every date of `index_dates` in one pass over the rows.
pub fn evaluate(
    plan: &Plan,
    extract: &Extract,
    index_dates: &[Day],
    opts: &EvalOptions,
) -> Result<Results, EvalError> {
    if index_dates.is_empty() {
        return Err(EvalError::NoIndexDates);
    }
    if let Some((from, to)) = extract.index_date_range {
        if let Some(&d) = index_dates.iter().find(|&&d| d < from || d > to) {
            return Err(EvalError::OutsideLoadedDates {
                date: dates::format_iso(d),
                from: dates::format_iso(from),
                to: dates::format_iso(to),
            });
        }
    }
    let mut offsets = Vec::new();
    collect_offsets(&plan.population, &mut offsets);
    for m in &plan.measures {
        collect_offsets(&m.denominator, &mut offsets);
        collect_offsets(&m.numerator, &mut offsets);
    }
    let frames: Vec<DateFrame> = index_dates
        .iter()
        .map(|&d| {
            Ok(DateFrame {
                index: d,
                ymd: dates::to_ymd(d),
                bounds: plan
                    .features
                    .iter()
                    .map(|f| bounds(d, f.window()))
                    .collect::<Result<_, _>>()?,
                offset_days: offsets
                    .iter()
                    .map(|&o| Ok((o, shift(d, o)?)))
                    .collect::<Result<_, EvalError>>()?,
            })
        })
        .collect::<Result<_, EvalError>>()?;
    let med = Membership::new(plan, &extract.medications, Table::Medications);
    let ev = Membership::new(plan, &extract.clinical_events, Table::ClinicalEvents);
    if med.global.len() > 4096 || ev.global.len() > 4096 {
        return Err(EvalError::TooManyCodelists(
            med.global.len().max(ev.global.len()),
        ));
    }
    let shape = Shape {
        dates: index_dates.len(),
        practices: extract.practices.len(),
        measures: plan.measures.len(),
        composites: plan.composites.len(),
        max_members: plan
            .composites
            .iter()
            .map(|c| c.members.len())
            .max()
            .unwrap_or(0),
    };
    let mut program = formula::Program::default();
    let population = program.add(&plan.population);
    let measures: Vec<(formula::NodeId, formula::NodeId)> = plan
        .measures
        .iter()
        .map(|m| (program.add(&m.denominator), program.add(&m.numerator)))
        .collect();
    let compiled = Compiled {
        program,
        population,
        measures,
    };
    let n = extract.n_patients();
    let n_chunks = n.div_ceil(CHUNK);
    // A few contiguous patient ranges per thread, each folded into one accumulator: the
    // accumulators are dates × practices × measures in size, so one per small chunk would spend
    // the time zeroing and merging memory.
    let n_tasks = (rayon::current_num_threads() * 4).clamp(1, n_chunks.max(1));
    let per_task = n.div_ceil(n_tasks).max(1);
    let acc = (0..n_tasks)
        .into_par_iter()
        .map(|t| {
            let mut acc = Acc::new(&shape, plan);
            let mut memo = formula::Memo::new(&compiled.program);
            for p in t * per_task..((t + 1) * per_task).min(n) {
                patient(
                    plan, &compiled, &mut memo, extract, &med, &ev, &frames, &shape, opts, p,
                    &mut acc,
                );
            }
            acc
        })
        .reduce_with(Acc::merge)
        .unwrap_or_else(|| Acc::new(&shape, plan));
    let mut rows = acc.rows;
    rows.par_sort_unstable_by_key(|r| (r.date, r.patient, r.measure));
    Ok(Results {
        index_dates: index_dates.to_vec(),
        practices: extract.practices.clone(),
        measures: plan.measures.iter().map(|m| m.id.clone()).collect(),
        composites: plan
            .composites
            .iter()
            .map(|c| (c.id.clone(), c.members.len()))
            .collect(),
        max_members: shape.max_members,
        numerators: acc.num,
        denominators: acc.den,
        population: acc.population,
        composite_denominators: acc.comp_den,
        composite_histogram: acc.comp_hist,
        patient_rows: rows,
        patient_ids: if opts.patient_rows {
            extract.patient_ids.clone()
        } else {
            Vec::new()
        },
    })
}

fn gather(table: &EventTable, m: &Membership, p: usize, hits: &mut [Vec<Hit>]) {
    for row in table.rows(p) {
        let base = table.code[row] as usize * m.words;
        for w in 0..m.words {
            let mut bits = m.bits[base + w];
            while bits != 0 {
                let bit = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                hits[m.global[w * 64 + bit]].push(Hit {
                    day: table.day[row],
                    row: row as u32,
                });
            }
        }
    }
}

/// Index range of hits with `lo <= day <= hi` in a list sorted by day.
fn in_window(list: &[Hit], lo: Day, hi: Day) -> &[Hit] {
    let a = list.partition_point(|h| h.day < lo);
    let b = list.partition_point(|h| h.day <= hi);
    &list[a..b.max(a)]
}

/// Smallest |a - b| between two day-sorted lists is at most `gap`.
fn within(a: &[Hit], b: &[Hit], gap: i32) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i].day, b[j].day);
        if (x as i64 - y as i64).abs() <= gap as i64 {
            return true;
        }
        if x < y {
            i += 1;
        } else {
            j += 1;
        }
    }
    false
}

/// The current registration at `index` (start ≤ I < end): latest start, then latest end
/// (ongoing counts as latest), then first in input order.
fn current_practice(ex: &Extract, p: usize, index: Day) -> Option<u32> {
    let r = &ex.registrations;
    let mut best: Option<usize> = None;
    for i in r.offsets[p]..r.offsets[p + 1] {
        if r.start[i] <= index && (r.end[i] == NO_DATE || r.end[i] > index) {
            best = match best {
                Some(b) if (r.start[b], r.end[b]) >= (r.start[i], r.end[i]) => Some(b),
                _ => Some(i),
            };
        }
    }
    best.map(|i| r.practice[i])
}

/// Completed years (INDICATORS.md §2.6) from precomputed civil dates.
fn age_at(dob: (i32, u32, u32), at: (i32, u32, u32)) -> i32 {
    at.0 - dob.0 - i32::from((at.1, at.2) < (dob.1, dob.2))
}

/// One patient at one index date: features answered from the hit lists on first use.
struct PatientDate<'a> {
    plan: &'a Plan,
    ex: &'a Extract,
    hits: &'a [Vec<Hit>],
    bounds: &'a [(Day, Day)],
    flags: &'a [Cell<u8>],
    records: &'a [Cell<Option<Option<Rec>>>],
}

impl formula::Features for PatientDate<'_> {
    fn flag(&self, f: usize) -> bool {
        match self.flags[f].get() {
            1 => return false,
            2 => return true,
            _ => {}
        }
        let (lo, hi) = self.bounds[f];
        let v = match self.plan.features[f] {
            Feature::Has { codelist, .. } => !in_window(&self.hits[codelist], lo, hi).is_empty(),
            Feature::Within {
                a, b, max_gap_days, ..
            } => within(
                in_window(&self.hits[a], lo, hi),
                in_window(&self.hits[b], lo, hi),
                max_gap_days,
            ),
            Feature::Latest { .. } => self.record(f).is_some(),
        };
        self.flags[f].set(1 + v as u8);
        v
    }

    fn record(&self, f: usize) -> Option<Rec> {
        if let Some(r) = self.records[f].get() {
            return r;
        }
        let (lo, hi) = self.bounds[f];
        let r = match self.plan.features[f] {
            Feature::Latest { codelist, .. } => {
                let w = in_window(&self.hits[codelist], lo, hi);
                // Latest day; among rows on that day, the first in input order.
                w.last().map(|last| {
                    let first_same_day = w.partition_point(|h| h.day < last.day);
                    let row = w[first_same_day].row as usize;
                    let t = self.ex.table(self.plan.codelists[codelist].table);
                    let (value, comparator) = if t.value.is_empty() {
                        (f64::NAN, Comparator::None)
                    } else {
                        (t.value[row], Comparator::from_u8(t.comparator[row]))
                    };
                    Rec {
                        day: last.day,
                        value,
                        comparator,
                    }
                })
            }
            _ => None,
        };
        self.records[f].set(Some(r));
        r
    }
}

/// The plan's formulas as one shared-node program, with the roots the evaluator needs.
struct Compiled {
    program: formula::Program,
    population: formula::NodeId,
    /// (denominator, numerator) per measure.
    measures: Vec<(formula::NodeId, formula::NodeId)>,
}

#[allow(clippy::too_many_arguments)]
fn patient<'p>(
    plan: &Plan,
    compiled: &'p Compiled,
    memo: &mut formula::Memo<'p>,
    ex: &Extract,
    med: &Membership,
    ev: &Membership,
    frames: &[DateFrame],
    s: &Shape,
    opts: &EvalOptions,
    p: usize,
    acc: &mut Acc,
) {
    for h in acc.hits.iter_mut() {
        h.clear();
    }
    gather(&ex.medications, med, p, &mut acc.hits);
    gather(&ex.clinical_events, ev, p, &mut acc.hits);
    for h in acc.hits.iter_mut() {
        if h.len() > 1 {
            h.sort_unstable();
        }
    }
    let sex = ex.sex[p].letter();
    let dob = dates::to_ymd(ex.date_of_birth[p]);
    for (d, frame) in frames.iter().enumerate() {
        let Some(practice) = current_practice(ex, p, frame.index) else {
            continue;
        };
        let practice = practice as usize;
        for c in &acc.flags {
            c.set(0);
        }
        for c in &acc.records {
            c.set(None);
        }
        let features = PatientDate {
            plan,
            ex,
            hits: &acc.hits,
            bounds: &frame.bounds,
            flags: &acc.flags,
            records: &acc.records,
        };
        let ctx = Ctx {
            age: age_at(dob, frame.ymd),
            sex,
            registered: true,
            dead: ex.date_of_death[p] != NO_DATE && ex.date_of_death[p] <= frame.index,
            offset_days: &frame.offset_days,
            features: &features,
        };
        memo.next();
        let prog = &compiled.program;
        if !prog.truth(compiled.population, &ctx, memo) {
            continue;
        }
        let dp = d * s.practices + practice;
        acc.population[dp] += 1;
        for (m, &(den_node, num_node)) in compiled.measures.iter().enumerate() {
            let den = prog.truth(den_node, &ctx, memo);
            let num = den && prog.truth(num_node, &ctx, memo);
            acc.den_now[m] = den;
            acc.num_now[m] = num;
            if den {
                acc.den[dp * s.measures + m] += 1;
                acc.num[dp * s.measures + m] += num as u64;
                if opts.patient_rows {
                    acc.rows.push(PatientFlag {
                        date: d as u32,
                        patient: p as u32,
                        practice: practice as u32,
                        measure: m as u32,
                        numerator: num,
                    });
                }
            }
        }
        for (c, comp) in plan.composites.iter().enumerate() {
            if comp.members.iter().any(|&m| acc.den_now[m]) {
                let k = dp * s.composites + c;
                acc.comp_den[k] += 1;
                let hits = comp.members.iter().filter(|&&m| acc.num_now[m]).count();
                acc.comp_hist[k * (s.max_members + 1) + hits] += 1;
            }
        }
    }
}
