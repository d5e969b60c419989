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

mod alloc;
mod explain;
mod interrupts;
mod output;
mod rules;
mod scan;
mod sql;
mod synth;
mod test;
mod why;

use std::process::ExitCode;

use anyhow::{anyhow, Result};
use clap::{Parser, Subcommand};
use rxscan_core::compile::CompileError;
use rxscan_core::extract::ExtractError;
use rxscan_core::output::pack as pack_text;
use rxscan_core::ruletest::TestError;

use rules::{compile_rules, pack, RulesArgs};

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
    /// Run the measures of a rule pack over an extract, or a folder of practice extracts, and write
    /// the results, the comparison of practices, the report, the evidence and action lists.
    Scan(scan::ScanArgs),
    /// Compile a rule pack and print its diagnostics (exit 2 if it has errors).
    Check(RulesArgs),
    /// List the measures of a rule pack: id, PRIMIS code, title.
    Rules(RulesArgs),
    /// Write the rule pack at the index dates as one SQL script (Spark or DuckDB).
    Sql(sql::SqlArgs),
    /// Write a deterministic, realistic synthetic extract (for demos, tests and benchmarks).
    Synth(synth::SynthArgs),
    /// Run a pack's own tests (tests/*.toml beside its rules): exit 0 when all hold, 1 when one
    /// does not (each failure with its file and line, patient, measure and why), 2 on errors.
    Test(RulesArgs),
    /// Print the documentation of one measure.
    Rule {
        /// Measure id, e.g. `a` or `me_no_fbc`.
        id: String,
        #[command(flatten)]
        rules: RulesArgs,
    },
    /// Why a patient is (or is not) in each measure: every condition, true/false, and its rows.
    Why(why::WhyArgs),
    /// Print a measure's documentation and its definition, shared definitions expanded.
    Explain(explain::ExplainArgs),
}

fn main() -> ExitCode {
    alloc::tune_allocator();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // `rxscan test` found a failing test and has said which on stdout.
        Err(e) if e.is::<test::Failed>() => ExitCode::from(1),
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
                Some(
                    core @ (rxscan_core::Error::Rules(CompileError::Invalid { .. })
                    | rxscan_core::Error::Tests(TestError::Invalid { .. })
                    | rxscan_core::Error::Data(ExtractError::Mapping(_))),
                ) => core.render(colour()),
                _ => format!("error: {e:#}\n"),
            };
            errout!("{text}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Synth(args) => synth::run(args),
        Command::Test(args) => test::run(args),
        Command::Why(args) => why::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Sql(args) => sql::run(args),
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
pub fn colour() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}
