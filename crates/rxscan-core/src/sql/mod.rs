//! Stage: lower a [`Plan`] to one SQL script, for engines where the data already lives (Spark
//! SQL on Databricks, DuckDB). The script is written from the Plan alone, so a new rule file
//! runs unchanged; nothing in it is written per measure by hand.
//!
//! How the Plan lowers (details in `script.rs`): index dates become a dates table whose columns
//! are every day the plan reads (`index - 3 months`, ...), computed here with the library's
//! month arithmetic, so the "no such day" rule is the evaluator's and is checked when the
//! script is written; codelists become a table of (codelist, code) joined to the event tables;
//! each [`Feature`](crate::plan::Feature) becomes one view with a row per patient and date where
//! it holds (a `latest` keeps one row by the documented tie-break); formulas become boolean
//! columns over the registered patients with those views left-joined (`expr.rs` keeps the
//! Plan's two-valued logic); the three outputs are aggregations with the columns of
//! `summary.csv`, `patients.csv` and `composites.csv`.
//!
//! What differs between engines lives in one trait, [`Dialect`]; Spark and DuckDB are one
//! file each. Each statement ends with `;` at the end of its line, and no other line does, so
//! a runner can split the script and send one statement at a time (`spark.sql` takes one).

mod dialect;
mod duckdb;
mod expr;
mod script;
mod spark;

pub use dialect::Dialect;
pub use duckdb::DuckDb;
pub use spark::Spark;

use crate::dates::Day;
use crate::eval::EvalError;
use crate::plan::Plan;

/// The names of the three views a script ends with, in the order of the output files.
pub const RESULT_VIEWS: [&str; 3] = ["rxscan_summary", "rxscan_patients", "rxscan_composites"];

/// The dialect called `name` (`spark`, `duckdb`), if there is one.
pub fn dialect(name: &str) -> Option<&'static dyn Dialect> {
    match name {
        "spark" => Some(&Spark),
        "duckdb" => Some(&DuckDb),
        _ => None,
    }
}

/// Where the script reads its inputs.
#[derive(Debug, Clone, Default)]
pub struct SqlOptions {
    /// Prepended to the four extract table names (`db.schema.` reads `db.schema.patients`).
    pub tables: String,
    /// Read the codelists from this table (columns `codelist`, `code`; as written by
    /// [`codelists_csv`]) instead of an inline table.
    pub codelists_table: Option<String>,
}

/// The script for `plan` at `dates` (checked index dates: [`IndexDates::days`](crate::IndexDates::days)):
/// statements each ending with `;` at the end of a line. Fails, as evaluation would, when a
/// day the plan reads does not exist at some date.
pub fn script(
    plan: &Plan,
    dates: &[Day],
    dialect: &dyn Dialect,
    opts: &SqlOptions,
) -> Result<String, EvalError> {
    let inputs = script::Inputs {
        tables: &opts.tables,
        codelists_table: opts.codelists_table.as_deref(),
    };
    let statements = script::statements(plan, dates, dialect, &inputs)?;
    let mut out = format!(
        "-- Written by rxscan {} (`rxscan sql --dialect {}`) from a compiled rule pack.\n\
         -- Reads patients, practice_registrations, medications and clinical_events (docs/DATA-CONTRACT.md),\n\
         -- ends with the views {}.\n",
        env!("CARGO_PKG_VERSION"),
        dialect.name(),
        RESULT_VIEWS.join(", ")
    );
    for s in statements {
        out.push('\n');
        out.push_str(&s);
        out.push_str(";\n");
    }
    Ok(out)
}

/// The plan's codelists as CSV (`codelist,code`, one row per codelist and code), for
/// `--codelists-table`: load it into a table and name that table.
pub fn codelists_csv(plan: &Plan) -> String {
    let mut out = String::from("codelist,code\n");
    for c in &plan.codelists {
        for code in &c.codes {
            out.push_str(&crate::results::csv_field(&c.name));
            out.push(',');
            out.push_str(&crate::results::csv_field(code));
            out.push('\n');
        }
    }
    out
}
