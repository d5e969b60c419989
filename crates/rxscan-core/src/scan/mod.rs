//! The one way through the library: a compiled plan and its index dates, taken once, then
//! `load` and `evaluate` (in the spirit of DataFusion's `SessionContext` and ripgrep's
//! `SearcherBuilder`).
//!
//! ```no_run
//! use rxscan_core::scan::{IndexDates, Scan};
//! let plan = rxscan_core::compile::compile_dir("rules/pincer".as_ref(), &Default::default())
//!     .map_err(|e| e.render(false)).unwrap().plan;
//! let dates = IndexDates::of([IndexDates::parse("2020-03-01").unwrap()]).unwrap();
//! let scan = Scan::new(plan, dates);
//! let extract = scan.load("testdata/demo".as_ref()).unwrap();
//! let results = scan.evaluate(&extract, &Default::default()).unwrap();
//! let (num, den) = results.total(0, 0);
//! println!("{}: {num}/{den}", results.measures[0]);
//! ```
//!
//! The index dates enter once ([`IndexDates`]), the rows the plan needs at those dates are
//! planned once ([`rows`]), and the loader and the evaluator both take them from here, so the
//! extract can never be evaluated at a date it was not loaded for.

mod batch;
mod dates;
mod facts;
pub mod rows;

use std::path::Path;
use std::sync::Arc;

pub use batch::{Batch, Data, ExtractScan, FolderError, PracticeFolder, PracticeFolders};
pub use dates::{DateError, DatesError, IndexDates};
pub use facts::RunFacts;

use crate::error::Error;
use crate::eval::{self, EvalOptions};
use crate::extract::{Extract, LoadOptions, LoadReport, Mapping};
use crate::plan::{Plan, RecordField};
use crate::results::{Results, Suppression};

/// A plan to run at some index dates.
#[derive(Debug, Clone)]
pub struct Scan {
    plan: Plan,
    dates: IndexDates,
    load: LoadOptions,
    /// The rows before the windows that are loaded (for evidence).
    history: rows::History,
    /// Trace the flagged patients after counting ([`Scan::with_evidence`]).
    evidence: bool,
}

impl Scan {
    /// Plan a scan: the rows to keep are worked out here, once.
    pub fn new(plan: Plan, dates: IndexDates) -> Scan {
        let load = rows::for_dates(&plan, &dates);
        let history = rows::History::default();
        Scan {
            plan,
            dates,
            load,
            history,
            evidence: false,
        }
    }

    /// Trace the flagged patients after counting, and load what that needs besides what
    /// counting needs: for every feature whose absence can make a condition true
    /// ([`rows::absence_features`]), each patient's latest row before the window, from the
    /// whole record, so evidence names the last one ([`rows::History`]). The files are read
    /// (and every row validated) either way; this keeps about one more row per patient and
    /// code, and costs the thinning of the older rows to those.
    ///
    /// Evidence traces flagged patients only, so the clinical events' history is gathered only
    /// for patients with a prescription a flagged patient must have ([`rows::history_gate`]):
    /// a [`Tracer`](crate::evidence::Tracer) of this scan's extract names the last row before
    /// a window exactly for every patient a numerator can hold for, not for the others.
    pub fn with_evidence(self) -> Scan {
        let history = rows::History {
            features: rows::absence_features(&self.plan),
        };
        let gate = rows::history_gate(&self.plan, &history);
        let mut scan = self.keeping_history(history);
        scan.load.history_gate = gate;
        scan.evidence = true;
        scan
    }

    /// The latest row before the window of every feature, not only those whose absence
    /// decides (`rxscan why`: one patient, every "last row before the window" named).
    pub fn with_all_history(self) -> Scan {
        let history = rows::History {
            features: vec![true; self.plan.features.len()],
        };
        self.keeping_history(history)
    }

    /// Keep the rows `history` asks for; the other load options (orphans, mapping, absent
    /// columns, option names) stay as set.
    fn keeping_history(mut self, history: rows::History) -> Scan {
        let rows = rows::with_history(&self.plan, &self.dates, &history);
        self.load.keep_medication_codes = rows.keep_medication_codes;
        self.load.keep_event_codes = rows.keep_event_codes;
        self.load.index_date_range = rows.index_date_range;
        self.load.history_gate = None;
        self.history = history;
        self
    }

    /// Whether the scan traces its flagged patients ([`Scan::with_evidence`]).
    pub fn traces_evidence(&self) -> bool {
        self.evidence
    }

    /// Which rows before the windows are loaded (evidence names a last row only there).
    pub fn history(&self) -> &rows::History {
        &self.history
    }

    /// Skip event and registration rows whose patient is not in `patients` (each table's
    /// count comes back in [`Extract::orphans_skipped`]) instead of refusing the extract.
    pub fn skip_orphans(mut self, skip: bool) -> Scan {
        self.load.skip_orphans = skip;
        self
    }

    /// What the caller calls the options its messages point to ([`crate::OptionNames`]; a
    /// command line gives its flags).
    pub fn option_names(mut self, names: crate::OptionNames) -> Scan {
        self.load.names = names;
        self
    }

    /// Read the extract through a column mapping.
    pub fn mapping(mut self, mapping: Option<Arc<Mapping>>) -> Scan {
        self.load.mapping = mapping;
        self
    }

    /// Fields the extract does not have, declared absent (e.g. `patients.date_of_death`).
    pub fn absent(mut self, fields: Vec<String>) -> Scan {
        self.load.absent = fields;
        self
    }

    /// What a scan should warn about, one sentence each, from what its loads read and found
    /// ([`Batch::report`], [`Batch::orphans_skipped`]; once per run, whatever the number of
    /// practice folders): rows skipped as orphans, a missing `comparator` column (naming the
    /// measures that read comparators, from the plan), and sex values outside the known
    /// spellings with their number of patients (shown under `suppression`, as every count of
    /// patients is).
    pub fn warnings(
        &self,
        report: &LoadReport,
        orphans_skipped: &[(String, usize)],
        suppression: Suppression,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for (file, n) in orphans_skipped {
            out.push(format!(
                "{file}: skipped {n} row(s) whose patient_id is not in the patients table ({})",
                self.load.names.skip_orphans
            ));
        }
        let comparator = "clinical_events.comparator";
        let readers = self.plan.measures_reading(RecordField::Comparator);
        if !readers.is_empty()
            && (report.absent.iter().chain(&report.absent_found)).any(|f| f == comparator)
        {
            let how = if report.absent_found.iter().any(|f| f == comparator) {
                "the clinical_events table has no comparator column"
            } else {
                "clinical_events.comparator is declared absent"
            };
            out.push(format!(
                "{how}: every numeric value is read without a comparator, which changes what measure(s) {} find (they read comparators)",
                readers.join(", ")
            ));
        }
        for (value, n) in &report.unrecognised_sex {
            let shown = crate::results::show(suppression.apply(*n as u64));
            out.push(format!(
                "{shown} patient(s) with sex {value:?}, not a known spelling: in no population (INDICATORS.md §7.12)"
            ));
        }
        out
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }
    pub fn dates(&self) -> &IndexDates {
        &self.dates
    }
    /// What the loader is asked for (the planned row filter).
    pub fn load_options(&self) -> &LoadOptions {
        &self.load
    }

    /// Load an extract folder, keeping the rows the plan can see at the scan's dates.
    pub fn load(&self, data: &Path) -> Result<Extract, Error> {
        Ok(Extract::load(data, &self.load)?)
    }

    /// The plan at the scan's index dates as one SQL script for `dialect` (see [`crate::sql`]):
    /// refused, as evaluation would be, when a day the plan reads does not exist at a date.
    pub fn sql(
        &self,
        dialect: &dyn crate::sql::Dialect,
        opts: &crate::sql::SqlOptions,
    ) -> Result<String, Error> {
        Ok(crate::sql::script(
            &self.plan,
            self.dates.days(),
            dialect,
            opts,
        )?)
    }

    /// Evaluate the plan over an extract at every index date of the scan, in one pass.
    pub fn evaluate(&self, extract: &Extract, opts: &EvalOptions) -> Result<Results, Error> {
        Ok(eval::evaluate(
            &self.plan,
            extract,
            self.dates.days(),
            opts,
        )?)
    }
}
