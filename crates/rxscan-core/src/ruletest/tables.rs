//! A test file's patients as an ordinary extract: the four tables of the data contract, as
//! CSV, each patient's rows in the order the test file gives them (the order is meaningful:
//! the first row in input order breaks `latest` ties and full ties between registrations).

use std::path::Path;

use super::TestPatient;
use crate::dates::format_iso;

/// Write `patients.csv`, `practice_registrations.csv`, `medications.csv` and
/// `clinical_events.csv` for `patients` into `dir`.
pub fn write_extract(patients: &[TestPatient], dir: &Path) -> std::io::Result<()> {
    let mut pt = writer(
        dir,
        "patients",
        &["patient_id", "date_of_birth", "sex", "date_of_death"],
    )?;
    let mut reg = writer(
        dir,
        "practice_registrations",
        &["patient_id", "start_date", "end_date", "practice_pseudo_id"],
    )?;
    let mut med = writer(dir, "medications", &["patient_id", "date", "dmd_code"])?;
    let mut ev = writer(
        dir,
        "clinical_events",
        &[
            "patient_id",
            "date",
            "snomedct_code",
            "numeric_value",
            "comparator",
        ],
    )?;
    for p in patients {
        let id = p.id.to_string();
        let died = p.died.map(format_iso).unwrap_or_default();
        pt.write_record([&id, &format_iso(p.born), &p.sex, &died])?;
        for r in &p.registrations {
            let end = r.end.map(format_iso).unwrap_or_default();
            reg.write_record([&id, &format_iso(r.start), &end, &r.practice])?;
        }
        for (date, code) in &p.medications {
            med.write_record([&id, &format_iso(*date), code])?;
        }
        for e in &p.clinical_events {
            ev.write_record([&id, &format_iso(e.date), &e.code, &e.value, &e.comparator])?;
        }
    }
    for mut w in [pt, reg, med, ev] {
        w.flush()?;
    }
    Ok(())
}

fn writer(dir: &Path, table: &str, header: &[&str]) -> std::io::Result<csv::Writer<std::fs::File>> {
    let mut w = csv::Writer::from_path(dir.join(format!("{table}.csv")))?;
    w.write_record(header)?;
    Ok(w)
}
