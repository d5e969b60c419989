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

/// A plan to run at some index dates.
#[derive(Debug, Clone)]
pub struct Scan {
    plan: Plan,
    dates: IndexDates,
    load: LoadOptions,
}

impl Scan {
    /// Plan a scan: the rows to keep are worked out here, once.
    pub fn new(plan: Plan, dates: IndexDates) -> Scan {
        let load = rows::for_dates(&plan, &dates);
        Scan { plan, dates, load }
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

    /// The plan at the scan's index dates as one SQL script for `dialect` (see [`crate::sql`]):
    /// refused, as evaluation would be, when a day the plan reads does not exist at a date.
    pub fn sql(
        &self,
        dialect: &dyn crate::sql::Dialect,
        opts: &crate::sql::SqlOptions,
    ) -> Result<String, Error> {
        Ok(crate::sql::script(&self.plan, &self.dates, dialect, opts)?)
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
