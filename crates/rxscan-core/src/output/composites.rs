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
    for (d, p) in r.listed() {
        let (date, practice) = (
            dates::format_iso(r.index_dates[d]),
            csv_field(&r.practices[p]),
        );
        for (c, (id, _)) in r.composites.iter().enumerate() {
            let (den, histogram) = r.composite(d, p, c);
            let den = show(s.apply(den));
            for (i, &count) in histogram.iter().enumerate() {
                let count = show(s.apply(count));
                writeln!(w, "{date},{practice},{id},{den},{},{count}", i + 1)?;
            }
        }
    }
    Ok(())
}
