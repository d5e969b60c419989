//! Stage: evaluate a plan over an extract for one or more index dates.
//!
//! Patients are independent, so the work is split into chunks of patients that rayon spreads
//! over threads; each thread folds into its own counters, merged at the end, so results are
//! identical for any thread count (integer sums, and patient rows sorted afterwards).
//!
//! For one patient the evaluator makes **one pass** over the patient's rows whatever the number
//! of index dates, and only if a formula asks for a feature (patients outside the population at
//! every date are never gathered): each row's code has a precomputed codelist bitmask
//! (membership is decided once per distinct code, never per row), and a matching row's
//! (day, row) is appended to that codelist's hit list. The lists are sorted by day.
//!
//! The index dates are evaluated together, in blocks of up to 64 **lanes** (see
//! `program.rs`): the dates are sorted ascending into lanes (counters and patient rows are
//! written back under each date's position in the caller's list), so every window bound grows
//! with the lane (month arithmetic keeps the day of month, so it is monotone) and a feature is
//! answered for all the lanes asked in one pointer sweep over its hit list (`has`, `latest`);
//! `within` (rare: only asked where a denominator holds) uses binary search and a two-pointer
//! sweep per lane. Registration (the current practice) and death are computed once per patient
//! and block for all lanes. Scratch vectors are owned by the thread and reused, so the hot loop
//! does not allocate per patient.

mod blocks;
mod counters;
mod hits;
pub mod program;

use rayon::prelude::*;

use crate::dates::{self, Day};
use crate::extract::{Comparator, Extract, NO_DATE};
use crate::plan::{Feature, Plan, Table};
use crate::results::{PatientFlag, Results};
use blocks::{below, blocks, current_practices, Block};
use counters::{Acc, Lanes, Scratch, Shape};
use hits::{gather, in_window, tie_break, within, Hit, Membership};
use program::{lanes, Mask, Rec};

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
    #[error("index date {date} is outside {from}..{to}, the index dates the extract was loaded for; load it again for this date")]
    OutsideLoadedDates {
        date: String,
        from: String,
        to: String,
    },
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
    let mut program = program::Program::default();
    let population = program.add(&plan.population);
    let measures: Vec<(program::NodeId, program::NodeId)> = plan
        .measures
        .iter()
        .map(|m| (program.add(&m.denominator), program.add(&m.numerator)))
        .collect();
    let blocks = blocks(plan, &program, index_dates)?;
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
    let env = Env {
        plan,
        compiled: &compiled,
        ex: extract,
        med: &med,
        ev: &ev,
        blocks: &blocks,
        shape: &shape,
        opts,
    };
    let acc = (0..n_tasks)
        .into_par_iter()
        .map(|t| {
            let mut acc = Acc::new(&shape, plan);
            let mut memo = program::Memo::new(&compiled.program);
            for p in t * per_task..((t + 1) * per_task).min(n) {
                patient(&env, &mut memo, p, &mut acc);
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
        measure_info: plan
            .measures
            .iter()
            .map(|m| crate::results::MeasureInfo {
                id: m.id.clone(),
                primis: m.primis.clone(),
                title: m.title.clone(),
                doc: m.doc.clone(),
            })
            .collect(),
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

/// Everything the evaluation of all patients shares.
struct Env<'a> {
    plan: &'a Plan,
    compiled: &'a Compiled,
    ex: &'a Extract,
    med: &'a Membership,
    ev: &'a Membership,
    blocks: &'a [Block],
    shape: &'a Shape,
    opts: &'a EvalOptions,
}

/// One patient at the lanes of one block: features answered from the hit lists on first use.
struct PatientLanes<'a> {
    env: &'a Env<'a>,
    p: usize,
    block: &'a Block,
    registered: Mask,
    dead: Mask,
    dob: (i32, u32, u32),
    sex: &'static str,
    s: &'a mut Scratch,
}

impl PatientLanes<'_> {
    /// The patient's hit lists, gathered on first use.
    fn hits(&mut self) -> &[Vec<Hit>] {
        if !self.s.gathered {
            let ex = self.env.ex;
            for h in self.s.hits.iter_mut() {
                h.clear();
            }
            gather(&ex.medications, self.env.med, self.p, &mut self.s.hits);
            gather(&ex.clinical_events, self.env.ev, self.p, &mut self.s.hits);
            for h in self.s.hits.iter_mut() {
                if h.len() > 1 {
                    h.sort_unstable();
                }
            }
            self.s.gathered = true;
        }
        &self.s.hits
    }
}

impl program::Facts for PatientLanes<'_> {
    fn registered(&self) -> Mask {
        self.registered
    }

    fn dead(&self) -> Mask {
        self.dead
    }

    fn age(&self, lane: usize) -> i32 {
        dates::age_from_ymd(self.dob, self.block.ymd[lane])
    }

    fn sex(&self) -> &'static str {
        self.sex
    }

    fn index_date(&self, k: usize, lane: usize) -> Day {
        self.block.offset_days[k][lane]
    }

    fn flag(&mut self, f: usize, need: Mask) -> Mask {
        let block = self.block;
        let (lo, hi) = (&block.lo[f], &block.hi[f]);
        match self.env.plan.features[f] {
            Feature::Has { codelist, .. } => {
                let list = &self.hits()[codelist];
                if list.is_empty() {
                    return 0;
                }
                // Lanes ascend and so do their bounds: one sweep over the list.
                let mut out = 0;
                let mut i = 0;
                for l in lanes(need) {
                    while i < list.len() && list[i].day < lo[l] {
                        i += 1;
                    }
                    if i == list.len() {
                        break;
                    }
                    if list[i].day <= hi[l] {
                        out |= 1 << l;
                    }
                }
                out
            }
            Feature::Within {
                a, b, max_gap_days, ..
            } => {
                let hits = self.hits();
                let (a, b) = (&hits[a], &hits[b]);
                let mut out = 0;
                if a.is_empty() || b.is_empty() {
                    return 0;
                }
                for l in lanes(need) {
                    if within(
                        in_window(a, lo[l], hi[l]),
                        in_window(b, lo[l], hi[l]),
                        max_gap_days,
                    ) {
                        out |= 1 << l;
                    }
                }
                out
            }
            Feature::Latest { .. } => self.latest(f, need),
        }
    }

    fn latest(&mut self, f: usize, need: Mask) -> Mask {
        let todo = need & !self.s.latest_done[f];
        if todo != 0 {
            let Feature::Latest { codelist, .. } = self.env.plan.features[f] else {
                unreachable!("a record of a feature that is not a `latest`")
            };
            let block = self.block;
            let (lo, hi) = (&block.lo[f], &block.hi[f]);
            let table = self.env.ex.table(self.env.plan.codelists[codelist].table);
            self.hits();
            let list = &self.s.hits[codelist];
            let (mut found, row) = (0, &mut self.s.latest_row[f]);
            // Lanes ascend and so do their bounds: `end` (hits dated ≤ hi) only moves forward.
            let mut end = 0;
            for l in lanes(if list.is_empty() { 0 } else { todo }) {
                while end < list.len() && list[end].day <= hi[l] {
                    end += 1;
                }
                if end > 0 && list[end - 1].day >= lo[l] {
                    // Latest day; among rows on that day, the documented tie-break.
                    let day = list[end - 1].day;
                    let first = list[..end].partition_point(|h| h.day < day);
                    row[l] = tie_break(table, &list[first..end]);
                    found |= 1 << l;
                }
            }
            self.s.latest_done[f] |= todo;
            self.s.latest_used = true;
            self.s.latest_found[f] |= found;
        }
        self.s.latest_found[f] & need
    }

    fn record(&self, f: usize, lane: usize) -> Rec {
        let Feature::Latest { codelist, .. } = self.env.plan.features[f] else {
            unreachable!("a record of a feature that is not a `latest`")
        };
        let row = self.s.latest_row[f][lane] as usize;
        let t = self.env.ex.table(self.env.plan.codelists[codelist].table);
        let (value, comparator) = if t.value.is_empty() {
            (f64::NAN, Comparator::None)
        } else {
            (t.value[row], Comparator::from_u8(t.comparator[row]))
        };
        Rec {
            day: t.day[row],
            value,
            comparator,
        }
    }
}

/// The plan's formulas as one shared-node program, with the roots the evaluator needs.
struct Compiled {
    program: program::Program,
    population: program::NodeId,
    /// (denominator, numerator) per measure.
    measures: Vec<(program::NodeId, program::NodeId)>,
}

fn patient<'p>(env: &Env<'p>, memo: &mut program::Memo<'p>, p: usize, acc: &mut Acc) {
    let (ex, s) = (env.ex, env.shape);
    let prog = &env.compiled.program;
    acc.scratch.gathered = false;
    let Lanes { best, practice, dp } = &mut *acc.lanes;
    for block in env.blocks {
        let registered = current_practices(ex, p, block, best, practice);
        if registered == 0 {
            continue;
        }
        // Dead on or before the index date: the lanes from the first date ≥ the death on.
        let dead = match ex.date_of_death[p] {
            NO_DATE => 0,
            dod => block.full & !below(block.day[..block.n].partition_point(|&d| d < dod)),
        };
        if acc.scratch.latest_used {
            acc.scratch.latest_done.fill(0);
            acc.scratch.latest_found.fill(0);
            acc.scratch.latest_used = false;
        }
        let mut facts = PatientLanes {
            env,
            p,
            block,
            registered,
            dead,
            dob: dates::to_ymd(ex.date_of_birth[p]),
            sex: ex.sex[p].letter(),
            s: &mut acc.scratch,
        };
        memo.next();
        let pop = prog.truth(env.compiled.population, registered, &mut facts, memo);
        if pop == 0 {
            continue;
        }
        for (m, &(den_node, num_node)) in env.compiled.measures.iter().enumerate() {
            let den = prog.truth(den_node, pop, &mut facts, memo);
            acc.den_now[m] = den;
            acc.num_now[m] = prog.truth(num_node, den, &mut facts, memo);
        }
        // `[date][practice]` index of each population lane.
        for l in lanes(pop) {
            dp[l] = block.date[l] as usize * s.practices + practice[l] as usize;
            acc.population[dp[l]] += 1;
        }
        for m in 0..s.measures {
            for l in lanes(acc.den_now[m]) {
                acc.den[dp[l] * s.measures + m] += 1;
            }
            for l in lanes(acc.num_now[m]) {
                acc.num[dp[l] * s.measures + m] += 1;
            }
            if env.opts.patient_rows {
                for l in lanes(acc.den_now[m]) {
                    acc.rows.push(PatientFlag {
                        date: block.date[l],
                        patient: p as u32,
                        practice: practice[l],
                        measure: m as u32,
                        numerator: acc.num_now[m] >> l & 1 != 0,
                    });
                }
            }
        }
        for (c, comp) in env.plan.composites.iter().enumerate() {
            let (mut den, mut num) = (0, 0);
            for &m in &comp.members {
                den |= acc.den_now[m];
                num |= acc.num_now[m];
            }
            let hist = |l: usize| (dp[l] * s.composites + c) * (s.max_members + 1);
            for l in lanes(den) {
                acc.comp_den[dp[l] * s.composites + c] += 1;
            }
            // Lanes with no member numerator: n = 0; the others count their members.
            for l in lanes(den & !num) {
                acc.comp_hist[hist(l)] += 1;
            }
            for l in lanes(num) {
                let n = comp
                    .members
                    .iter()
                    .filter(|&&m| acc.num_now[m] >> l & 1 != 0)
                    .count();
                acc.comp_hist[hist(l) + n] += 1;
            }
        }
    }
}
