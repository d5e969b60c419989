//! Demography: age, sex, date of death and leaving the practice list.
//!
//! Each patient is alive and registered on a random anchor day of the extract period, with an
//! ONS-like England age on that day (children included; they fall outside every PINCER
//! denominator) and sex (a few `U`/`I`). Dates of birth are the 1st of the month, as in TPP.
//! Registration starts years before the anchor (or shortly after birth); deaths follow a
//! Gompertz-Makeham hazard and some patients leave (deregistration).

use super::{EXTRACT_END, EXTRACT_START, NONE, YEAR};
use crate::dates::month_start;
use crate::rng::Rng;

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

/// Who a patient is, and when they are alive and registered.
pub(super) struct Demography {
    pub(super) dob: i32,
    /// b'M', b'F', b'U' or b'I'.
    pub(super) sex: u8,
    /// Age on the anchor day, in years.
    pub(super) age: f64,
    /// Start of the first registration.
    pub(super) start: i32,
    /// Date of death, [`NONE`] if alive at the end of the extract.
    pub(super) death: i32,
    /// End of the last registration (death or leaving), [`NONE`] if still registered.
    pub(super) reg_end: i32,
}

/// Draws a patient's demography.
pub(super) fn demography(rng: &mut Rng) -> Demography {
    // Demography: each patient is alive and registered on an anchor day of the extract
    // period, with an England-like age at that day.
    let anchor = rng.range(EXTRACT_START, EXTRACT_END);
    let age = sample_age(rng);
    let dob = month_start(anchor - (age * YEAR) as i32);
    let age_a = (anchor - dob) as f64 / YEAR;
    let sex = sample_sex(rng, age_a);

    let mut start = anchor - (rng.exp(12.0) * YEAR) as i32;
    if start < dob {
        start = (dob + rng.range(7, 60)).min(anchor);
    }
    let death = anchor + (years_to_death(rng, age_a) * YEAR) as i32;
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
    Demography {
        dob,
        sex,
        age: age_a,
        start,
        death: death_date,
        reg_end,
    }
}
