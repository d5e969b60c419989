//! A small, dependency-free PRNG (xoshiro256++ seeded through SplitMix64).
//!
//! The generator is hand-rolled on purpose: the byte-for-byte output of `generate` must not
//! change when a dependency changes its algorithms, and every patient gets an independent stream
//! derived from `(seed, patient index)`, so chunking and thread count cannot change the data.

/// One SplitMix64 step (also used as a cheap 64-bit hash).
#[inline]
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of two 64-bit words, used to derive stream seeds.
#[inline]
pub(crate) fn mix2(a: u64, b: u64) -> u64 {
    let mut s = a ^ 0x6A09_E667_F3BC_C908;
    let x = splitmix64(&mut s);
    let mut t = b ^ x.rotate_left(17);
    splitmix64(&mut t) ^ x
}

/// xoshiro256++ generator.
#[derive(Clone, Debug)]
pub(crate) struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator for stream `stream` of seed `seed`.
    pub(crate) fn new(seed: u64, stream: u64) -> Self {
        let mut sm = mix2(seed, stream);
        let mut s = [0u64; 4];
        for w in &mut s {
            *w = splitmix64(&mut sm);
        }
        if s == [0; 4] {
            s[0] = 1;
        }
        Rng { s }
    }

    #[inline]
    pub(crate) fn next_u64(&mut self) -> u64 {
        let r = self.s[0]
            .wrapping_add(self.s[3])
            .rotate_left(23)
            .wrapping_add(self.s[0]);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        r
    }

    /// Uniform in [0, 1).
    #[inline]
    pub(crate) fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in (0, 1]: safe for `ln`.
    #[inline]
    pub(crate) fn f64_open(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in [0, n) (n > 0), multiply-shift method.
    #[inline]
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }

    /// Uniform integer in [lo, hi] (inclusive).
    #[inline]
    pub(crate) fn range(&mut self, lo: i32, hi: i32) -> i32 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as usize) as i32
    }

    #[inline]
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Exponential with the given mean.
    #[inline]
    pub(crate) fn exp(&mut self, mean: f64) -> f64 {
        -mean * self.f64_open().ln()
    }

    /// Gamma(shape 2) scaled to the given mean: more regular than an exponential gap.
    #[inline]
    pub(crate) fn gamma2(&mut self, mean: f64) -> f64 {
        -0.5 * mean * (self.f64_open() * self.f64_open()).ln()
    }

    /// Standard normal (Box-Muller, one value per call).
    #[inline]
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = self.f64_open();
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Poisson-distributed count (Knuth; for the small means used here).
    pub(crate) fn poisson(&mut self, mean: f64) -> u32 {
        if mean <= 0.0 {
            return 0;
        }
        if mean > 30.0 {
            let v = mean + mean.sqrt() * self.normal();
            return v.round().max(0.0) as u32;
        }
        let l = (-mean).exp();
        let mut k = 0u32;
        let mut p = self.f64_open();
        while p > l {
            k += 1;
            p *= self.f64_open();
        }
        k
    }

    /// Skewed ("Zipf-like", log-uniform rank) index in [0, n): low indices are common.
    #[inline]
    pub(crate) fn skewed(&mut self, n: usize) -> usize {
        let x = ((n as f64 + 1.0).powf(self.f64()) - 1.0) as usize;
        x.min(n - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = {
            let mut r = Rng::new(42, 7);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::new(42, 7);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let c: Vec<u64> = {
            let mut r = Rng::new(42, 8);
            (0..4).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn distributions_are_sane() {
        let mut r = Rng::new(1, 1);
        let n = 100_000;
        let mean_exp: f64 = (0..n).map(|_| r.exp(2.0)).sum::<f64>() / n as f64;
        assert!((mean_exp - 2.0).abs() < 0.05, "{mean_exp}");
        let mean_g: f64 = (0..n).map(|_| r.gamma2(3.0)).sum::<f64>() / n as f64;
        assert!((mean_g - 3.0).abs() < 0.05, "{mean_g}");
        let mean_p: f64 = (0..n).map(|_| r.poisson(4.0) as f64).sum::<f64>() / n as f64;
        assert!((mean_p - 4.0).abs() < 0.05, "{mean_p}");
        assert!((0..n).all(|_| r.below(7) < 7));
        assert!((0..n).all(|_| r.skewed(10) < 10));
    }
}
