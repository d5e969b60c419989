//! `patients.csv`: one row per patient, index date and measure where the patient is in the
//! denominator (patient-level: never written under suppression).

use std::io::{self, Write};

use crate::dates;
use crate::results::{csv_field, Results};

pub fn write(r: &Results, w: &mut dyn Write) -> io::Result<()> {
    writeln!(
        w,
        "index_date,patient_id,practice_pseudo_id,measure,numerator"
    )?;
    let dates: Vec<String> = r
        .index_dates
        .iter()
        .map(|&d| dates::format_iso(d))
        .collect();
    let practices: Vec<String> = r.practices.iter().map(|p| csv_field(p)).collect();
    for f in &r.patient_rows {
        writeln!(
            w,
            "{},{},{},{},{}",
            dates[f.date as usize],
            r.patient_ids[f.patient as usize],
            practices[f.practice as usize],
            r.measures[f.measure as usize],
            f.numerator
        )?;
    }
    Ok(())
}
