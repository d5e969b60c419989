//! `rxscan sql`: write the pack at the index dates as one SQL script for Spark or DuckDB.

use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use clap::Args;
use rxscan_core::sql::{self, SqlOptions};
use rxscan_core::Scan;

use crate::args::{DatesArgs, RulesArgs};
use crate::out;

#[derive(Args)]
pub struct SqlArgs {
    #[command(flatten)]
    rules: RulesArgs,
    /// SQL dialect: spark or duckdb.
    #[arg(long)]
    dialect: String,
    #[command(flatten)]
    dates: DatesArgs,
    /// Prefix of the four extract tables, e.g. `db.schema.` [default: none].
    #[arg(long, value_name = "PREFIX", default_value = "")]
    tables: String,
    /// Read the codelists from this table (columns codelist, code; see --codelists-csv)
    /// instead of building them in the script.
    #[arg(long, value_name = "NAME")]
    codelists_table: Option<String>,
    /// Also write the pack's codelists as CSV (codelist,code) to load as --codelists-table.
    #[arg(long, value_name = "FILE")]
    codelists_csv: Option<PathBuf>,
    /// Write the script here [default: standard output].
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub fn run(args: SqlArgs) -> Result<()> {
    let dialect = sql::dialect(&args.dialect)
        .ok_or_else(|| anyhow!("--dialect {}: expected spark or duckdb", args.dialect))?;
    let dates = args.dates.index_dates()?;
    let scan = Scan::new(args.rules.compile()?.plan, dates);
    let opts = SqlOptions {
        tables: args.tables,
        codelists_table: args.codelists_table,
    };
    let text = scan.sql(dialect, &opts)?;
    if let Some(path) = &args.codelists_csv {
        std::fs::write(path, sql::codelists_csv(scan.plan()))
            .with_context(|| format!("--codelists-csv {}", path.display()))?;
    }
    match &args.out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("--out {}", path.display()))
        }
        None => out(text.trim_end()),
    }
}
