//! `summary.csv`: one row per index date, practice and measure, for every practice with a
//! patient in the population at that date (zero counts included); rates of the shown counts.

use std::io::{self, Write};

use crate::dates;
use crate::results::{csv_field, Results, Suppression};

pub fn write(r: &Results, w: &mut dyn Write, s: Suppression) -> io::Result<()> {
    writeln!(
        w,
        "index_date,practice_pseudo_id,measure,numerator,denominator,rate"
    )?;
    for (d, p) in r.listed() {
        let (date, practice) = (
            dates::format_iso(r.index_dates[d]),
            csv_field(&r.practices[p]),
        );
        for (m, id) in r.measures.iter().enumerate() {
            let (num, den) = r.count(d, p, m);
            let shown = s.ratio(num, den);
            writeln!(
                w,
                "{date},{practice},{id},{},{},{}",
                shown.numerator_text(),
                shown.denominator_text(),
                shown.rate_text()
            )?;
        }
    }
    Ok(())
}
