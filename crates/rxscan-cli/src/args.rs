//! The argument groups several commands share (the pack, the extract, the index dates), each
//! turned into the library's value once, with errors named by the flag the user gave: the
//! library's messages name no flags.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, ensure, Context as _, Result};
use clap::Args;
use rxscan_core::compile::{CompileError, CompileOptions, Compiled};
use rxscan_core::scan::DatesError;
use rxscan_core::{extract::Mapping, packs::Pack, paths, Error, IndexDates, OptionNames, Scan};

/// The flags of the options a library message may point to (the library names none).
const FLAGS: OptionNames = OptionNames {
    skip_orphans: "--skip-orphans",
    absent: "--absent",
    param: "--param",
    data: "--data",
};

#[derive(Args)]
pub struct RulesArgs {
    /// Folder of rule files (`*.rx`, searched recursively) [default: the PINCER pack built
    /// into rxscan].
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Override a parameter of the pack: `--param NAME=VALUE` (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
}

impl RulesArgs {
    /// The pack in use: `--rules DIR`, or the built-in PINCER pack.
    pub fn pack(&self) -> Pack {
        self.rules.clone().map_or(Pack::BuiltinPincer, Pack::Dir)
    }

    pub fn compile(&self) -> Result<Compiled> {
        let mut opts = CompileOptions::from_params(&self.params).map_err(flag("--param"))?;
        opts.names = FLAGS;
        if let Some(dir) = &self.rules {
            folder("--rules", dir)?;
        }
        self.pack().compile(&opts).map_err(|e| match e {
            CompileError::NoRules(dir) => {
                anyhow!(
                    "--rules {}: no rule files (*.rx) in this folder",
                    dir.display()
                )
            }
            e => Error::from(e).into(),
        })
    }
}

/// The arguments of every command that reads an extract.
#[derive(Args)]
pub struct ExtractArgs {
    /// Extract folder: patients, practice_registrations, medications, clinical_events (.csv,
    /// .csv.gz, .csv.zst or .parquet); for `scan`, also a folder of practice folders, each one
    /// extract, scanned together.
    #[arg(long)]
    pub data: PathBuf,
    /// Column mapping of an export not shaped like the contract (TOML; see the README's "Real
    /// exports").
    #[arg(long, value_name = "FILE.toml")]
    pub mapping: Option<PathBuf>,
    /// A column the export does not have, declared absent: patients.date_of_death or
    /// clinical_events.comparator (repeatable).
    #[arg(long, value_name = "TABLE.FIELD")]
    pub absent: Vec<String>,
}

impl ExtractArgs {
    /// `scan` set to read the extract as these arguments say (the mapping read and checked).
    pub fn apply(&self, scan: Scan) -> Result<Scan> {
        folder("--data", &self.data)?;
        let path = self.mapping.as_deref().map(paths::file).transpose();
        let mapping = path.map_err(flag("--mapping"))?.map(Mapping::read);
        let mapping = mapping.transpose().map_err(Error::from)?.map(Arc::new);
        let scan = scan.option_names(FLAGS).mapping(mapping);
        Ok(scan.absent(self.absent.clone()))
    }
}

/// The index dates of the commands that run the plan (`scan`, `sql`).
#[derive(Args)]
pub struct DatesArgs {
    /// Index date: the 1st of a month, as YYYY-MM-DD (the measures are monthly); repeat for
    /// several.
    #[arg(long = "index-date", value_name = "DATE")]
    index_dates: Vec<String>,
    /// First index date of a monthly series (the 1st of a month; with --to).
    #[arg(long, value_name = "DATE", requires = "to")]
    from: Option<String>,
    /// Last index date of a monthly series (the 1st of a month; inclusive).
    #[arg(long, value_name = "DATE", requires = "from")]
    to: Option<String>,
}

impl DatesArgs {
    /// The dates of `--index-date` and `--from`/`--to` (`IndexDates::from_text`).
    pub fn index_dates(&self) -> Result<IndexDates> {
        let series = self.from.as_deref().zip(self.to.as_deref());
        IndexDates::from_text(&self.index_dates, series).map_err(|e| match e {
            DatesError::Date(e) => anyhow!("--index-date {e}"),
            DatesError::From(e) => anyhow!("--from {e}"),
            DatesError::To(e) => anyhow!("--to {e}"),
            DatesError::Series { from, to, error } => anyhow!("--from {from} --to {to}: {error}"),
            _ => anyhow!("no index date: give --index-date YYYY-MM-DD (repeatable) or --from/--to"),
        })
    }
}

/// An error named by the flag the user gave (`--data nope: no such folder`).
pub fn flag<E: std::fmt::Display>(name: &'static str) -> impl Fn(E) -> anyhow::Error {
    move |e| anyhow!("{name} {e}")
}

/// A folder given on the command line, or an error naming the flag.
pub fn folder(name: &'static str, dir: &Path) -> Result<()> {
    paths::folder(dir).map_err(flag(name))?;
    Ok(())
}

/// Run on `threads` worker threads (`--threads`; all cores when not given).
pub fn use_threads(threads: Option<usize>) -> Result<()> {
    let Some(n) = threads else { return Ok(()) };
    ensure!(n > 0, "--threads must be at least 1");
    // polars sizes its pool from this variable on first use.
    std::env::set_var("POLARS_MAX_THREADS", n.to_string());
    let pool = rayon::ThreadPoolBuilder::new().num_threads(n);
    pool.build_global().context("cannot start the thread pool")
}
