//! `rxscan scan`: its flags, progress and messages; the run itself is `rxscan_core`'s
//! `output::job` (find, load, evaluate, trace, write, summarise).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{anyhow, Result};
use clap::Args;
use rxscan_core::output::job::{Event, Job, JobError};
use rxscan_core::output::OutputOptions;
use rxscan_core::{paths, Error, Scan};

use crate::args::{flag, folder, use_threads, DatesArgs, ExtractArgs, RulesArgs};
use crate::{colour, err, interrupts, out, progress};

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

pub fn run(args: ScanArgs) -> Result<()> {
    let started = Instant::now();
    use_threads(args.threads)?;
    let dates = args.dates.index_dates()?;
    folder("--data", &args.extract.data)?;
    paths::output_folder(&args.out).map_err(flag("--out"))?;
    interrupts::clean_up_on_signal()?;
    let compiled = args.rules.compile()?;
    if !args.quiet {
        err(compiled.sources.render(&compiled.warnings, colour()));
    }
    let scan = Scan::new(compiled.plan, dates).skip_orphans(args.skip_orphans);
    let job = Job {
        pack: args.rules.pack(),
        scan: args.extract.apply(scan)?,
        data: args.extract.data.clone(),
        out: args.out.clone(),
        output: OutputOptions::new(args.suppress, !args.no_patients),
        keep_going: args.keep_going,
        verbose: args.verbose,
        started,
    };
    let bar = progress::bar(args.quiet);
    let done = job.run(&|event| match event {
        Event::Stage(stage) => bar.set_message(stage.to_string()),
        Event::Folders(n) => progress::count(&bar, n),
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
