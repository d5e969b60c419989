//! Per-thread counters and scratch: each rayon task folds its patients into its own `Acc`,
//! merged at the end (integer sums, so the results are the same for any thread count); the
//! scratch vectors are reused from patient to patient, so the hot loop does not allocate.

use super::hits::Hit;
use super::program::{Mask, LANES};
use crate::plan::Plan;
use crate::results::PatientFlag;

/// Thread-local state: counters and reusable scratch space.
pub(super) struct Acc {
    /// `[date][practice][measure]`.
    pub(super) num: Vec<u64>,
    pub(super) den: Vec<u64>,
    /// `[date][practice]`.
    pub(super) population: Vec<u64>,
    /// `[date][practice][composite]`.
    pub(super) comp_den: Vec<u64>,
    /// `[date][practice][composite][n]`, n in 0..=max members.
    pub(super) comp_hist: Vec<u64>,
    pub(super) rows: Vec<PatientFlag>,
    pub(super) scratch: Scratch,
    pub(super) lanes: Box<Lanes>,
    pub(super) den_now: Vec<Mask>,
    pub(super) num_now: Vec<Mask>,
}

/// Per-patient scratch, reused.
pub(super) struct Scratch {
    /// Whether `hits` holds the current patient's rows.
    pub(super) gathered: bool,
    pub(super) hits: Vec<Vec<Hit>>,
    /// Per `Latest` feature: lanes computed, lanes with a record, and the record's row.
    pub(super) latest_done: Vec<Mask>,
    pub(super) latest_found: Vec<Mask>,
    pub(super) latest_row: Vec<[u32; LANES]>,
    /// Whether any `latest_*` entry was set since they were last cleared.
    pub(super) latest_used: bool,
}

/// Per-lane scratch of one patient and block (entries are valid only at the lanes written).
pub(super) struct Lanes {
    /// The registration current at each lane.
    pub(super) best: [usize; LANES],
    pub(super) practice: [u32; LANES],
    /// `[date][practice]` index of each population lane.
    pub(super) dp: [usize; LANES],
}

pub(super) struct Shape {
    pub(super) dates: usize,
    pub(super) practices: usize,
    pub(super) measures: usize,
    pub(super) composites: usize,
    pub(super) max_members: usize,
}

impl Acc {
    pub(super) fn new(s: &Shape, plan: &Plan) -> Acc {
        let dp = s.dates * s.practices;
        Acc {
            num: vec![0; dp * s.measures],
            den: vec![0; dp * s.measures],
            population: vec![0; dp],
            comp_den: vec![0; dp * s.composites],
            comp_hist: vec![0; dp * s.composites * (s.max_members + 1)],
            rows: Vec::new(),
            scratch: Scratch {
                gathered: false,
                hits: vec![Vec::new(); plan.codelists.len()],
                latest_done: vec![0; plan.features.len()],
                latest_found: vec![0; plan.features.len()],
                latest_row: vec![[0; LANES]; plan.features.len()],
                latest_used: false,
            },
            lanes: Box::new(Lanes {
                best: [0; LANES],
                practice: [0; LANES],
                dp: [0; LANES],
            }),
            den_now: vec![0; s.measures],
            num_now: vec![0; s.measures],
        }
    }
    pub(super) fn merge(mut self, other: Acc) -> Acc {
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
