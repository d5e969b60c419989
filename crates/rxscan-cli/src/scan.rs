//! `rxscan scan`: its flags, progress and messages; the run itself is `rxscan_core`'s
//! `output::job` (find, load, evaluate, trace, write, summarise).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, ensure, Context, Result};
use clap::Args;
use rxscan_core::output::job::{Event, Job, JobError};
use rxscan_core::output::OutputOptions;
use rxscan_core::scan::DatesError;
use rxscan_core::{extract::Mapping, paths, Error, IndexDates, Scan};

use crate::rules::{check_folder, compile_rules, flag, pack, RulesArgs};
use crate::{colour, err, interrupts, out, output};

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
        check_folder("--data", &self.data)?;
        let path = self.mapping.as_deref().map(paths::file).transpose();
        let mapping = path.map_err(flag("--mapping"))?.map(Mapping::read);
        let mapping = mapping.transpose().map_err(Error::from)?.map(Arc::new);
        Ok(scan.mapping(mapping).absent(self.absent.clone()))
    }
}

#[derive(Args)]
pub struct ScanArgs {
    #[command(flatten)]
    rules: RulesArgs,
    #[command(flatten)]
    extract: ExtractArgs,
    /// With a folder of practice folders: when one fails, write the other practices' results
    /// and list the failures in OUTDIR/errors.txt (and exit 2).
    #[arg(long)]
    keep_going: bool,
    #[command(flatten)]
    dates: DatesArgs,
    /// Output folder (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Skip event and registration rows whose patient is not in `patients` (with a warning)
    /// instead of failing.
    #[arg(long)]
    skip_orphans: bool,
    /// Small-number suppression for sharing: counts of 7 or fewer redacted, others rounded to
    /// the nearest 5, rates computed from the rounded counts (in the files and the terminal
    /// summary). Patient-level output is not written, and removed if an earlier run left it.
    #[arg(long)]
    suppress: bool,
    /// Do not write patient-level files (patients.csv, evidence.jsonl, action_lists/).
    #[arg(long)]
    no_patients: bool,
    /// No progress or summary on stderr/stdout.
    #[arg(long, short)]
    quiet: bool,
    /// Also say on stderr how each table was read: rows read and kept, the loader's paths,
    /// and the time of each step.
    #[arg(long, short)]
    verbose: bool,
}

/// The index dates every command that runs the plan takes (`scan`, `sql`).
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

/// The index dates of `--index-date` and `--from`/`--to` (`IndexDates::from_text`).
pub fn index_dates(args: &DatesArgs) -> Result<IndexDates> {
    let series = args.from.as_deref().zip(args.to.as_deref());
    IndexDates::from_text(&args.index_dates, series).map_err(|e| match e {
        DatesError::Date(e) => anyhow!("--index-date {e}"),
        DatesError::From(e) => anyhow!("--from {e}"),
        DatesError::To(e) => anyhow!("--to {e}"),
        DatesError::Series { from, to, error } => anyhow!("--from {from} --to {to}: {error}"),
        _ => anyhow!("no index date: give --index-date YYYY-MM-DD (repeatable) or --from/--to"),
    })
}

pub fn run(args: ScanArgs) -> Result<()> {
    let started = Instant::now();
    if let Some(n) = args.threads {
        ensure!(n > 0, "--threads must be at least 1");
        // polars sizes its pool from this variable on first use.
        std::env::set_var("POLARS_MAX_THREADS", n.to_string());
        let pool = rayon::ThreadPoolBuilder::new().num_threads(n);
        pool.build_global()
            .context("cannot start the thread pool")?;
    }
    let dates = index_dates(&args.dates)?;
    check_folder("--data", &args.extract.data)?;
    paths::output_folder(&args.out).map_err(flag("--out"))?;
    interrupts::clean_up_on_signal()?;
    let compiled = compile_rules(&args.rules)?;
    if !args.quiet {
        err(compiled.sources.render(&compiled.warnings, colour()));
    }
    let scan = Scan::new(compiled.plan, dates).skip_orphans(args.skip_orphans);
    let job = Job {
        pack: pack(&args.rules),
        scan: args.extract.apply(scan)?,
        data: args.extract.data.clone(),
        out: args.out.clone(),
        output: OutputOptions::new(args.suppress, !args.no_patients),
        keep_going: args.keep_going,
        verbose: args.verbose,
        started,
    };
    let bar = output::progress(args.quiet);
    let done = job.run(&|event| match event {
        Event::Stage(stage) => bar.set_message(stage.to_string()),
        Event::Folders(n) => output::count(&bar, n),
        Event::FolderDone => bar.inc(1),
        Event::Message(text) => err(text),
        // The interrupt tests catch a run here, a file staged.
        Event::Staged(name) => interrupts::test_hold(name),
    });
    let done = done.map_err(|e| match e {
        Error::Job(JobError::Stopped(first)) => {
            anyhow!("{first} (nothing written; --keep-going writes the other practices' results)")
        }
        e @ Error::Output(_) => anyhow!(e).context(format!("--out {}", args.out.display())),
        e => e.into(),
    })?;
    bar.finish_and_clear();
    if !args.quiet {
        out(done.summary.trim_end())?;
    }
    Ok(done.complete()?)
}
