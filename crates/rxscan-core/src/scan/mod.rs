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

mod dates;
pub mod rows;

use std::path::Path;

pub use dates::{DateError, IndexDates};

use crate::error::Error;
use crate::eval::{self, EvalOptions};
use crate::extract::{Extract, LoadOptions};
use crate::plan::Plan;
use crate::results::Results;

/// How far before a window evidence looks for the last matching row by default (months).
/// Every month of lookback keeps more old test results and repeat prescriptions of the lists
/// evidence reads. On the 1M-patient synthetic extract (one date, default outputs, CPU time
/// against the scan before evidence existed): evidence with 6 months of lookback +6% (and
/// +14% memory); with the whole record +22% CPU and 2.8 times the memory (4.4 times the
/// clinical-event rows kept); an earlier build measured 12 and 24 months at about +6 and +8
/// points over 6. Six months says when the last test was for monitoring at intervals of
/// months, within the budget of issue #11; `rxscan why` always looks back to the start.
pub const EVIDENCE_LOOKBACK_MONTHS: Option<u32> = Some(6);

/// A plan to run at some index dates.
#[derive(Debug, Clone)]
pub struct Scan {
    plan: Plan,
    dates: IndexDates,
    load: LoadOptions,
    /// The rows before the windows that are loaded (for evidence).
    history: rows::History,
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
        }
    }

    /// Load what evidence needs besides what counting needs: the rows before the window of
    /// every feature whose absence can make a condition true ([`rows::absence_features`]), so
    /// evidence can name the last one. Costs only the keeping of those rows; the files are
    /// read (and every row validated) either way.
    /// The last row is looked for in the [`EVIDENCE_LOOKBACK_MONTHS`] before the window
    /// ([`Scan::with_evidence_lookback`] to choose).
    pub fn with_evidence(self) -> Scan {
        self.with_evidence_lookback(EVIDENCE_LOOKBACK_MONTHS)
    }

    /// [`Scan::with_evidence`], looking back `months` before each window for the last row
    /// (`None`: to the start of the record; exact, and on a large extract it keeps several
    /// times the rows).
    pub fn with_evidence_lookback(self, months: Option<u32>) -> Scan {
        let history = rows::History {
            features: rows::absence_features(&self.plan),
            lookback_months: months,
        };
        self.keeping_history(history)
    }

    /// Keep every feature's rows from the start of the record (`rxscan why`: one patient,
    /// every "last row before the window" named, however old).
    pub fn with_all_history(self) -> Scan {
        let history = rows::History {
            features: vec![true; self.plan.features.len()],
            lookback_months: None,
        };
        self.keeping_history(history)
    }

    fn keeping_history(mut self, history: rows::History) -> Scan {
        let skip = self.load.skip_orphans;
        self.load = rows::with_history(&self.plan, &self.dates, &history);
        self.load.skip_orphans = skip;
        self.history = history;
        self
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
