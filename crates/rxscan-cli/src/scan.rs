//! `rxscan scan`: load an extract, evaluate the pack, write the output folder.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use rxscan_core::diagnostics::Severity;
use rxscan_core::eval::EvalOptions;
use rxscan_core::output::{terminal, OutputOptions, RenderInput};
use rxscan_core::results::Suppression;
use rxscan_core::{IndexDates, Scan};

use crate::rules::{check_folder, compile_rules, RulesArgs};
use crate::{colour, interrupts, output};

#[derive(Args)]
pub struct ScanArgs {
    #[command(flatten)]
    rules: RulesArgs,
    /// Extract folder: patients, practice_registrations, medications, clinical_events (.csv or .parquet).
    #[arg(long)]
    data: PathBuf,
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
    /// Do not write patients.csv.
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

/// The index dates: `--index-date` (repeatable) and the `--from`/`--to` series, one rule for
/// all (`IndexDates`: the 1st of a month).
pub fn index_dates(args: &DatesArgs) -> Result<IndexDates> {
    let parse = |flag: &str, text: &str| IndexDates::parse(text).map_err(|e| anyhow!("{flag} {e}"));
    let mut days = Vec::new();
    for text in &args.index_dates {
        days.push(parse("--index-date", text)?);
    }
    let mut dates = IndexDates::of(days).ok();
    if let (Some(from), Some(to)) = (&args.from, &args.to) {
        let series = IndexDates::monthly(parse("--from", from)?, parse("--to", to)?)
            .map_err(|e| anyhow!("--from {from} --to {to}: {e}"))?;
        dates = Some(match dates {
            Some(d) => d.union(&series),
            None => series,
        });
    }
    dates.ok_or_else(|| {
        anyhow!("no index date: give --index-date YYYY-MM-DD (repeatable) or --from/--to")
    })
}

pub fn run(args: ScanArgs) -> Result<()> {
    let started = Instant::now();
    if let Some(n) = args.threads {
        if n == 0 {
            bail!("--threads must be at least 1");
        }
        // polars sizes its pool from this variable on first use.
        std::env::set_var("POLARS_MAX_THREADS", n.to_string());
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("cannot start the thread pool")?;
    }
    let dates = index_dates(&args.dates)?;
    check_folder("--data", &args.data)?;
    if args.out.exists() && !args.out.is_dir() {
        bail!("--out {}: exists and is not a folder", args.out.display());
    }
    interrupts::clean_up_on_signal()?;
    let compiled = compile_rules(&args.rules)?;
    if !compiled.warnings.is_empty() && !args.quiet {
        errout!("{}", compiled.sources.render(&compiled.warnings, colour()));
    }
    debug_assert!(compiled
        .warnings
        .iter()
        .all(|w| w.severity == Severity::Warning));
    let n_dates = dates.len();
    let scan = Scan::new(compiled.plan, dates).skip_orphans(args.skip_orphans);
    let plan = scan.plan();
    let progress = output::Progress::new(args.quiet);
    progress.stage(&format!("loading {}", args.data.display()));
    let extract = scan.load(&args.data)?;
    if args.verbose {
        errout!("{}", terminal::load_report(&extract));
    }
    for (file, n) in &extract.orphans_skipped {
        errout!("warning: {file}: skipped {n} row(s) whose patient_id is not in the patients table (--skip-orphans)\n");
    }
    let loaded = started.elapsed();
    progress.stage(&format!(
        "evaluating {} measures at {} index date(s)",
        plan.measures.len(),
        n_dates
    ));
    let suppression = if args.suppress {
        Suppression::Redact7Round5
    } else {
        Suppression::None
    };
    let out_opts = OutputOptions {
        suppression,
        patient_level: !args.no_patients,
    };
    let results = scan.evaluate(
        &extract,
        &EvalOptions {
            patient_rows: out_opts.writes_patient_level(),
        },
    )?;
    let evaluated = started.elapsed();
    progress.stage("writing results");
    let input = RenderInput {
        results: &results,
        suppression,
    };
    let written = rxscan_core::output::write_folder(&args.out, &input, &out_opts, &mut |name| {
        progress.stage(&format!("writing results ({name} done)"));
        interrupts::test_hold(name);
    })
    .map_err(rxscan_core::Error::from)
    .with_context(|| format!("--out {}", args.out.display()))?;
    progress.finish();
    if !args.quiet {
        let facts = terminal::RunFacts {
            written,
            load: loaded,
            evaluate: evaluated - loaded,
            total: started.elapsed(),
            ..terminal::RunFacts::of(&extract)
        };
        outln!(
            "{}",
            terminal::render(&results, suppression, &facts).trim_end()
        );
    }
    Ok(())
}
