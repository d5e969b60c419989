//! `practices.csv`: every listed practice against the total over all scanned practices, for
//! each index date and measure: counts and rate (as in `summary.csv`), the Wilson 95% interval,
//! and the practice's position on the funnel plot around the total, with the limits at its
//! denominator. One row per measure for the total follows each date's practices. Rendered from
//! [`Comparison`], so under suppression every number comes from the shown counts.

use std::io::{self, Write};

use crate::dates;
use crate::results::compare::{percent, Comparison, Interval};
use crate::results::{csv_field, Results, Suppression};

const HEADER: &str = "index_date,level,practice_pseudo_id,measure,numerator,denominator,rate,rate_low95,rate_high95,total_rate,funnel_low95,funnel_high95,funnel_low998,funnel_high998,funnel";

pub fn write(r: &Results, w: &mut dyn Write, s: Suppression) -> io::Result<()> {
    let comparison = Comparison::of(r, s);
    writeln!(w, "{HEADER}")?;
    let pc = |x: Option<f64>| x.map(percent).unwrap_or_default();
    let ends = |i: Option<Interval>| (pc(i.map(|i| i.low)), pc(i.map(|i| i.high)));
    for d in 0..r.index_dates.len() {
        let date = dates::format_iso(r.index_dates[d]);
        let rows = (0..r.practices.len())
            .map(|p| (Some(p), "practice", csv_field(&r.practices[p])))
            .chain([(None, "total", String::new())]);
        for (p, level, practice) in rows {
            for (m, id) in r.measures.iter().enumerate() {
                let Some(c) = comparison.cell(d, p, m) else {
                    continue;
                };
                let (w_low, w_high) = ends(c.wilson);
                let (l95, h95) = ends(c.limits95);
                let (l998, h998) = ends(c.limits998);
                writeln!(
                    w,
                    "{date},{level},{practice},{id},{},{},{},{w_low},{w_high},{},{l95},{h95},{l998},{h998},{}",
                    c.shown.numerator_text(),
                    c.shown.denominator_text(),
                    c.shown.rate_text(),
                    pc(c.p0),
                    c.position.map_or("", |p| p.as_str()),
                )?;
            }
        }
    }
    Ok(())
}
