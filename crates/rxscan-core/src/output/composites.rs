//! `composites.csv`: for each index date, listed practice and composite, one row for every n
//! from 1 to its number of members: patients with exactly n member numerators true.

use std::io::{self, Write};

use crate::dates;
use crate::results::{csv_field, show, Results, Suppression};

pub fn write(r: &Results, w: &mut dyn Write, s: Suppression) -> io::Result<()> {
    writeln!(
        w,
        "index_date,practice_pseudo_id,composite,denominator,n_numerators,patients"
    )?;
    for (d, &day) in r.index_dates.iter().enumerate() {
        let date = dates::format_iso(day);
        for (p, practice) in r.practices.iter().enumerate() {
            if !r.practice_listed(d, p) {
                continue;
            }
            for (c, (id, _)) in r.composites.iter().enumerate() {
                let (den, histogram) = r.composite(d, p, c);
                let den = show(s.apply(den));
                for (i, &count) in histogram.iter().enumerate() {
                    writeln!(
                        w,
                        "{date},{},{id},{den},{},{}",
                        csv_field(practice),
                        i + 1,
                        show(s.apply(count))
                    )?;
                }
            }
        }
    }
    Ok(())
}
