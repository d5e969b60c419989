//! Calendar helpers: days since 1970-01-01 (the Polars/Arrow `Date` representation) and a
//! precomputed table of `YYYY-MM-DD` strings for fast CSV output.

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
pub(crate) const fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = (y - era * 400) as u32;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe as i32 - 719_468
}

/// Inverse of [`days_from_civil`].
pub(crate) const fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u32;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe as i32 + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The first day of the month containing `day`.
pub(crate) fn month_start(day: i32) -> i32 {
    let (y, m, _) = civil_from_days(day);
    days_from_civil(y, m, 1)
}

/// First table day (1890-01-01) and one past the last (2040-01-01).
const TABLE_FIRST: i32 = days_from_civil(1890, 1, 1);
const TABLE_END: i32 = days_from_civil(2040, 1, 1);

/// `YYYY-MM-DD` for every day from 1890 to 2039, indexed by day number.
pub(crate) struct DateStrings {
    table: Vec<[u8; 10]>,
}

impl DateStrings {
    pub(crate) fn new() -> Self {
        let table = (TABLE_FIRST..TABLE_END)
            .map(|d| {
                let (y, m, dd) = civil_from_days(d);
                let mut s = [0u8; 10];
                let y = y as u32;
                s[0] = b'0' + (y / 1000 % 10) as u8;
                s[1] = b'0' + (y / 100 % 10) as u8;
                s[2] = b'0' + (y / 10 % 10) as u8;
                s[3] = b'0' + (y % 10) as u8;
                s[4] = b'-';
                s[5] = b'0' + (m / 10) as u8;
                s[6] = b'0' + (m % 10) as u8;
                s[7] = b'-';
                s[8] = b'0' + (dd / 10) as u8;
                s[9] = b'0' + (dd % 10) as u8;
                s
            })
            .collect();
        DateStrings { table }
    }

    /// The ISO string of `day`; the generator never produces days outside 1890..2040.
    #[inline]
    pub(crate) fn get(&self, day: i32) -> &[u8; 10] {
        &self.table[(day.clamp(TABLE_FIRST, TABLE_END - 1) - TABLE_FIRST) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_known_values() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2020, 3, 1), 18_322);
        assert_eq!(civil_from_days(18_322), (2020, 3, 1));
        for d in (-30_000..30_000).step_by(37) {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        assert_eq!(
            month_start(days_from_civil(2019, 2, 28)),
            days_from_civil(2019, 2, 1)
        );
        let t = DateStrings::new();
        assert_eq!(t.get(days_from_civil(2020, 2, 29)), b"2020-02-29");
        assert_eq!(t.get(days_from_civil(1915, 12, 1)), b"1915-12-01");
    }
}
