//! Practices: ids, list-size weights and practice-level prescribing and monitoring habits.
//!
//! Practices differ in list size (log-normal weights), in how readily they prescribe NSAIDs
//! and in how closely they monitor, so that practice-level PINCER rates vary the way they do
//! in real data. The habits of a patient's first practice apply to the whole record.

use crate::rng::Rng;

/// Practices: ids, list-size weights and practice-level prescribing/monitoring habits.
pub(crate) struct Practices {
    pub ids: Vec<u32>,
    cdf: Vec<f64>,
    /// Multiplier of the acute NSAID prescribing rate.
    pub(super) nsaid: Vec<f64>,
    /// Multiplier of the blood-test rates.
    pub(super) monitor: Vec<f64>,
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

    /// A practice, weighted by list size.
    pub(super) fn pick(&self, rng: &mut Rng) -> usize {
        let u = rng.f64();
        self.cdf
            .partition_point(|&c| c <= u)
            .min(self.cdf.len() - 1)
    }

    /// A practice other than `current` (when there is one), weighted by list size.
    pub(super) fn pick_other(&self, rng: &mut Rng, current: usize) -> usize {
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
