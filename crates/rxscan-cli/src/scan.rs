//! `rxscan scan`: load an extract, evaluate the pack, write the output folder.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use rxscan_core::eval::EvalOptions;
use rxscan_core::extract::Mapping;
use rxscan_core::output::{run::RunRecord, terminal, OutputOptions, RenderInput};
use rxscan_core::results::Suppression;
use rxscan_core::scan::Data;
use rxscan_core::{IndexDates, Scan};

use crate::rules::{check_folder, compile_rules, RulesArgs};
use crate::{colour, interrupts, output};

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
        let mapping = match &self.mapping {
            Some(path) if !path.is_file() => bail!("--mapping {}: no such file", path.display()),
            Some(path) => Some(Arc::new(
                Mapping::read(path).map_err(rxscan_core::Error::from)?,
            )),
            None => None,
        };
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
    check_folder("--data", &args.extract.data)?;
    if args.out.exists() && !args.out.is_dir() {
        bail!("--out {}: exists and is not a folder", args.out.display());
    }
    interrupts::clean_up_on_signal()?;
    let compiled = compile_rules(&args.rules)?;
    if !compiled.warnings.is_empty() && !args.quiet {
        errout!("{}", compiled.sources.render(&compiled.warnings, colour()));
    }
    let suppression = if args.suppress {
        Suppression::Redact7Round5
    } else {
        Suppression::None
    };
    let out_opts = OutputOptions {
        suppression,
        patient_level: !args.no_patients,
    };
    let mut scan = Scan::new(compiled.plan, dates).skip_orphans(args.skip_orphans);
    // Evidence goes with the patient-level files: never under suppression.
    if out_opts.writes_patient_level() {
        scan = scan.with_evidence();
    }
    let scan = args.extract.apply(scan)?;
    let eval_opts = EvalOptions {
        patient_rows: out_opts.writes_patient_level(),
    };
    let progress = output::Progress::new(args.quiet);
    let data = Data::find(&args.extract.data)?;
    match &data {
        Data::Extract(dir) => progress.stage(&format!("scanning {}", dir.display())),
        Data::Practices(f) => progress.count(f.len() as u64, "practice folders scanned"),
    }
    let batch = scan.run(&data, &eval_opts, &|_| progress.inc())?;
    if args.verbose {
        errout!("{}", batch.load_report);
    }
    for note in &batch.report.notes {
        errout!("note: {note}\n");
    }
    let mut warnings = scan.warnings(&batch.report, &batch.orphans_skipped, suppression);
    warnings.extend(batch.warnings);
    for warning in &warnings {
        errout!("warning: {warning}\n");
    }
    if let Some(first) = batch.failed.first().filter(|_| !args.keep_going) {
        bail!("{first} (nothing written; --keep-going writes the other practices' results)");
    }
    for failed in &batch.failed {
        errout!("error: {failed}\n");
    }
    let pack = crate::rules::pack(&args.rules);
    let run = RunRecord::new(&pack, &scan, &batch.report, &warnings, suppression)
        .with_context(|| format!("cannot hash the rule pack {}", pack.name()))?;
    let (failed, mut facts, evidence) = (batch.failed, batch.facts, batch.evidence);
    let results = batch
        .results
        .context("no practice folder could be scanned")?;
    progress.stage("writing results");
    let input = RenderInput {
        failed_folders: &failed,
        run: Some(&run),
        evidence: evidence.as_ref(),
        ..RenderInput::of(&results, suppression)
    };
    facts.written = rxscan_core::output::write_folder(&args.out, &input, &out_opts, &mut |name| {
        progress.stage(&format!("writing results ({name} done)"));
        interrupts::test_hold(name);
    })
    .map_err(rxscan_core::Error::from)
    .with_context(|| format!("--out {}", args.out.display()))?;
    progress.finish();
    facts.total = started.elapsed();
    if !args.quiet {
        outln!(
            "{}",
            terminal::render(&results, suppression, &facts).trim_end()
        );
    }
    if !failed.is_empty() {
        bail!(
            "{} practice folder(s) failed; the other practices' results are in {} (see errors.txt)",
            failed.len(),
            args.out.display()
        );
    }
    Ok(())
}
