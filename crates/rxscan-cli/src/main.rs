//! `rxscan`: the command line over `rxscan-core`.
//!
//! Thin by design (as ripgrep's binary is over its library crates): argument parsing, progress,
//! writing output files atomically, and mapping every error to exit code 2 with one message on
//! stderr. Everything that decides a result lives in `rxscan-core`.

/// `println!` that fails with an error instead of panicking when standard output is closed or
/// full (`rxscan rules | head -1`, `rxscan check > /dev/full`).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        anyhow::Context::context(writeln!(std::io::stdout(), $($arg)*), "cannot write to standard output")?
    }};
}

/// `eprint!` that ignores a closed standard error instead of panicking: there is nowhere left
/// to report it.
macro_rules! errout {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}

mod interrupts;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use rxscan_core::compile::{CompileError, CompileOptions, Compiled};
use rxscan_core::diagnostics::Severity;
use rxscan_core::eval::EvalOptions;
use rxscan_core::output::{pack as pack_text, terminal, OutputOptions};
use rxscan_core::packs::{Builtin, Pack};
use rxscan_core::results::Suppression;
use rxscan_core::{IndexDates, Scan};

// Loading allocates and frees many per-task buffers of a megabyte or two; glibc's allocator
// hands those back to the kernel each time (a page fault per 4 KiB on reuse), mimalloc keeps them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "rxscan", version, about = "PINCER-style prescribing-safety searches over GP extracts", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the measures of a rule pack over an extract and write summary, patient and composite files.
    Scan(ScanArgs),
    /// Compile a rule pack and print its diagnostics (exit 2 if it has errors).
    Check(RulesArgs),
    /// List the measures of a rule pack: id, PRIMIS code, title.
    Rules(RulesArgs),
    /// Write a deterministic, realistic synthetic extract (for demos, tests and benchmarks).
    Synth(SynthArgs),
    /// Print the documentation of one measure.
    Rule {
        /// Measure id, e.g. `a` or `me_no_fbc`.
        id: String,
        #[command(flatten)]
        rules: RulesArgs,
    },
}

#[derive(Args)]
struct RulesArgs {
    /// Folder of rule files (`*.rx`, searched recursively) [default: the PINCER pack built
    /// into rxscan].
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// Override a parameter of the pack: `--param NAME=VALUE` (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
}

#[derive(Args)]
struct SynthArgs {
    /// Number of patients (all ages; children are outside every denominator).
    #[arg(long, default_value_t = 10_000)]
    patients: usize,
    /// Number of practices.
    #[arg(long, default_value_t = 5)]
    practices: usize,
    /// Random seed: the same seed and options give byte-identical files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// csv, parquet or both.
    #[arg(long, default_value = "csv")]
    format: String,
    /// Folder with the pincer-*.csv codelists the generator draws real codes from [default:
    /// the codelists of the PINCER pack built into rxscan].
    #[arg(long, value_name = "DIR")]
    codelists: Option<PathBuf>,
    /// Scale of the rows whose codes are in no codelist (1.0 = realistic volume).
    #[arg(long, default_value_t = 1.0)]
    background: f64,
    /// Boost of the rare parts of the model, for small demos (1.0 = realistic prevalence).
    #[arg(long, default_value_t = 1.0)]
    enrich: f64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Args)]
struct ScanArgs {
    #[command(flatten)]
    rules: RulesArgs,
    /// Extract folder: patients, practice_registrations, medications, clinical_events (.csv or .parquet).
    #[arg(long)]
    data: PathBuf,
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

/// `mi_option_purge_delay` in mimalloc 3's `mimalloc.h` (the `mi_option_e` enum), which the
/// Rust bindings do not name.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Allocator settings for the loader's pattern: a few hundred MiB to a few GiB allocated and
/// freed in large blocks. The purge delay can be overridden with mimalloc's own
/// `MIMALLOC_PURGE_DELAY`; huge pages stay on with `RXSCAN_THP=1`.
fn tune_allocator() {
    let set = |env: &str, option, value| {
        if std::env::var_os(env).is_none() {
            // SAFETY: setting an option is allowed at any time.
            unsafe { libmimalloc_sys::mi_option_set(option, value) };
        }
    };
    // mimalloc returns freed memory to the kernel after 10 ms by default, so each batch would
    // fault its pages in again (the kernel zeroes every one); keeping them for a second lets
    // the next batch reuse them (one pair of runs on the 1M-patient extract: 4.45 s -> 3.66 s).
    set("MIMALLOC_PURGE_DELAY", MI_OPTION_PURGE_DELAY, 1000);
    // Transparent huge pages: mimalloc asks for them, and a first touch of a 2 MiB page costs
    // a synchronous zeroing, and compaction when free memory is fragmented (here, by a page
    // cache holding the extract). Without them the 1M-patient Parquet scan ran in 2.09-2.14 s
    // against 2.38-2.50 s, and at 60 index dates in 3.7 s against 4.9-5.0 s (three runs each;
    // system time 0.7-0.8 s against 2.5-2.9 s). mimalloc's own switch is read only at start-up,
    // before `main`, so this turns them off for the process instead.
    #[cfg(target_os = "linux")]
    if std::env::var_os("RXSCAN_THP").is_none_or(|v| v != "1") {
        // SAFETY: prctl with PR_SET_THP_DISABLE takes plain integers and changes only this
        // process's huge-page policy; a failure (an old kernel) leaves it as it was.
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // Like ripgrep: a reader that stops reading (`| head`) is not an error.
        Err(e)
            if e.root_cause()
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            // Rules that do not compile come with their own `file:line:col: error[RX..]:` lines;
            // every other error is one line behind `error: `.
            let text = match e.downcast_ref::<rxscan_core::Error>() {
                Some(core @ rxscan_core::Error::Rules(CompileError::Invalid { .. })) => {
                    core.render(colour())
                }
                _ => format!("error: {e:#}\n"),
            };
            errout!("{text}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Scan(args) => scan(args),
        Command::Synth(args) => synth(args),
        Command::Check(args) => {
            let compiled = compile_rules(&args)?;
            errout!("{}", compiled.sources.render(&compiled.warnings, colour()));
            let n_warn = compiled.warnings.len();
            outln!(
                "{}",
                pack_text::check_summary(&pack(&args).name(), &compiled.plan, n_warn)
            );
            Ok(())
        }
        Command::Rules(args) => {
            let plan = compile_rules(&args)?.plan;
            outln!(
                "{}",
                pack_text::listing(&pack(&args).name(), &plan).trim_end()
            );
            Ok(())
        }
        Command::Rule { id, rules } => {
            let plan = compile_rules(&rules)?.plan;
            let doc = pack_text::measure_doc(&pack(&rules).name(), &plan, &id);
            outln!("{}", doc.map_err(|e| anyhow!(e))?);
            Ok(())
        }
    }
}

/// Diagnostics in colour when stderr is a terminal (and `NO_COLOR` is not set).
fn colour() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// The pack in use: `--rules DIR`, or the built-in PINCER pack.
fn pack(args: &RulesArgs) -> Pack {
    args.rules.clone().map_or(Pack::BuiltinPincer, Pack::Dir)
}

/// A folder given on the command line, or an error naming the flag.
fn check_folder(flag: &str, dir: &std::path::Path) -> Result<()> {
    if !dir.exists() {
        bail!("{flag} {}: no such folder", dir.display());
    }
    if !dir.is_dir() {
        bail!("{flag} {}: not a folder", dir.display());
    }
    Ok(())
}

fn compile_rules(args: &RulesArgs) -> Result<Compiled> {
    let mut params = Vec::new();
    for p in &args.params {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| anyhow!("--param {p}: expected NAME=VALUE"))?;
        params.push((k.trim().to_string(), v.trim().to_string()));
    }
    if let Some(dir) = &args.rules {
        check_folder("--rules", dir)?;
    }
    let compiled = pack(args).compile(&CompileOptions { params });
    compiled.map_err(|e| match (&e, &args.rules) {
        (CompileError::NoRules(_), Some(dir)) => {
            anyhow!(
                "--rules {}: no rule files (*.rx) in this folder",
                dir.display()
            )
        }
        _ => rxscan_core::Error::from(e).into(),
    })
}

/// The scan's index dates: `--index-date` (repeatable) and the `--from`/`--to` series, one
/// rule for all (`IndexDates`: the 1st of a month).
fn index_dates(args: &ScanArgs) -> Result<IndexDates> {
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

fn scan(args: ScanArgs) -> Result<()> {
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
    let dates = index_dates(&args)?;
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
    let written = rxscan_core::output::write_folder(&args.out, &results, &out_opts, &mut |name| {
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

fn synth(args: SynthArgs) -> Result<()> {
    let format = args
        .format
        .parse()
        .map_err(|e| anyhow!("--format {}: {e}", args.format))?;
    let codelists = match args.codelists {
        Some(dir) => {
            check_folder("--codelists", &dir)?;
            rxscan_synth::Codelists::Dir(dir)
        }
        None => rxscan_synth::Codelists::Files(Builtin::codelist_files()),
    };
    let cfg = rxscan_synth::SynthConfig {
        patients: args.patients,
        practices: args.practices,
        seed: args.seed,
        out: args.out.clone(),
        format,
        codelists,
        background: args.background,
        enrich: args.enrich,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .context("cannot start the thread pool")?;
    let report = pool
        .install(|| rxscan_synth::generate(&cfg))
        .map_err(|e| anyhow!("{e}"))?;
    for (table, n) in report.rows() {
        outln!("{table:<24} {n:>12} rows");
    }
    outln!(
        "wrote {} file(s) to {} in {:.2}s",
        report.files.len(),
        args.out.display(),
        report.elapsed.as_secs_f64()
    );
    Ok(())
}
