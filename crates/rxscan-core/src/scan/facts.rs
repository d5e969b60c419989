//! What a run read and how long it took, besides its results (the terminal summary shows it;
//! a batch scan adds up its practice folders').

use std::path::PathBuf;
use std::time::Duration;

use crate::extract::Extract;

/// What the summary says about the run besides the results.
#[derive(Debug, Clone, Default)]
pub struct RunFacts {
    pub patients: usize,
    /// Practice folders of a batch scan (0 for one extract).
    pub folders: usize,
    pub practices: usize,
    /// Medication rows read, and kept (matched a codelist in some window).
    pub medications: (usize, usize),
    /// Clinical-event rows read, and kept.
    pub clinical_events: (usize, usize),
    pub written: Vec<PathBuf>,
    pub load: Duration,
    pub evaluate: Duration,
    pub total: Duration,
}

impl RunFacts {
    /// The extract's counts; timings and files to be filled in by the caller.
    pub fn of(ex: &Extract) -> RunFacts {
        RunFacts {
            patients: ex.n_patients(),
            folders: 0,
            practices: ex.practices.len(),
            medications: (ex.medications.rows_read, ex.medications.len()),
            clinical_events: (ex.clinical_events.rows_read, ex.clinical_events.len()),
            written: Vec::new(),
            load: Duration::ZERO,
            evaluate: Duration::ZERO,
            total: Duration::ZERO,
        }
    }
}

impl std::ops::AddAssign<&RunFacts> for RunFacts {
    /// Counts and times added (a batch scan's folders); files written appended.
    fn add_assign(&mut self, other: &RunFacts) {
        self.patients += other.patients;
        self.practices += other.practices;
        self.medications.0 += other.medications.0;
        self.medications.1 += other.medications.1;
        self.clinical_events.0 += other.clinical_events.0;
        self.clinical_events.1 += other.clinical_events.1;
        self.written.extend(other.written.iter().cloned());
        self.load += other.load;
        self.evaluate += other.evaluate;
        self.total += other.total;
    }
}

/// How the extract was read: rows read and kept per table, the loader's paths, the time of
/// each step (`rxscan scan --verbose`).
pub(super) fn load_report(ex: &Extract) -> String {
    let mut out = format!(
        "load: patients and registrations in {:.2}s\n",
        ex.patients_time.as_secs_f64()
    );
    for (name, t) in [
        ("medications", &ex.medications),
        ("clinical_events", &ex.clinical_events),
    ] {
        let p = t.read_by;
        out.push_str(&format!(
            "load: {name}: {} rows read and validated in {:.2}s, {} kept, grouped in {:.2}s (Parquet row groups {}, dictionary pages {}, plain pages {}; CSV chunks {}; polars batches: fast tasks {}, exact tasks {})\n",
            t.rows_read,
            t.read_time.as_secs_f64(),
            t.len(),
            t.group_time.as_secs_f64(),
            p.row_groups,
            p.dictionary_pages,
            p.plain_pages,
            p.csv_chunks,
            p.fast_tasks,
            p.exact_tasks
        ));
    }
    out
}
