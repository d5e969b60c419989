//! `rxscan`: the command line over `rxscan-core`.
//!
//! Thin by design (as ripgrep's binary is over its library crates): argument parsing, progress,
//! messages and exit codes (2 for every error, with one message on stderr). Everything that
//! decides a result, or words one, lives in `rxscan-core`.

mod alloc;
mod args;
mod interrupts;
mod pack;
mod progress;
mod scan;
mod sql;
mod synth;
mod why;

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "rxscan", version, about = "PINCER-style prescribing-safety searches over GP extracts", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The commands, in the order `rxscan --help` lists them: the scan, then what explains its
/// flags (the pharmacist's), then the rule author's, the analyst's and the developer's.
#[derive(Subcommand)]
enum Command {
    /// Run the measures of a rule pack over an extract, or a folder of practice extracts, and write
    /// the results, the comparison of practices, the report, the evidence and action lists.
    Scan(scan::ScanArgs),
    /// Why a patient is (or is not) in each measure: every condition, true/false, and its rows.
    Why(why::WhyArgs),
    /// Print a measure's documentation and its definition, shared definitions expanded.
    Explain(pack::MeasureArgs),
    /// Print the documentation of one measure.
    Rule(pack::MeasureArgs),
    /// List the measures of a rule pack: id, PRIMIS code, title.
    Rules(args::RulesArgs),
    /// Compile a rule pack and print its diagnostics (exit 2 if it has errors).
    Check(args::RulesArgs),
    /// Run a pack's own tests (tests/*.toml beside its rules): exit 0 when all hold, 1 when one
    /// does not (each failure with its file and line, patient, measure and why), 2 on errors.
    Test(args::RulesArgs),
    /// Write the rule pack at the index dates as one SQL script (Spark or DuckDB).
    Sql(sql::SqlArgs),
    /// Write a deterministic, realistic synthetic extract (for demos, tests and benchmarks).
    Synth(synth::SynthArgs),
}

fn main() -> ExitCode {
    alloc::tune_allocator();
    let result = match Cli::parse().command {
        Command::Scan(args) => scan::run(args),
        Command::Why(args) => why::run(args),
        Command::Explain(args) => pack::measure(args, true),
        Command::Rule(args) => pack::measure(args, false),
        Command::Rules(args) => pack::list(args),
        Command::Check(args) => pack::check(args),
        Command::Test(args) => pack::test(args),
        Command::Sql(args) => sql::run(args),
        Command::Synth(args) => synth::run(args),
    };
    let Err(e) = result else {
        return ExitCode::SUCCESS;
    };
    let io = e.root_cause().downcast_ref::<std::io::Error>();
    if e.is::<pack::Failed>() {
        // `rxscan test` found a failing test and has said which on stdout.
        return ExitCode::from(1);
    } else if io.is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) {
        // Like ripgrep: a reader that stops reading (`| head`) is not an error.
        return ExitCode::SUCCESS;
    }
    // Rules that do not compile come with their own `file:line:col: error[RX..]:` lines; every
    // other error is one line behind `error: `.
    match e
        .downcast_ref()
        .and_then(|e: &rxscan_core::Error| e.diagnostics(colour()))
    {
        Some(text) => err(text),
        None => err(format!("error: {e:#}\n")),
    }
    ExitCode::from(2)
}

/// `text` and a newline on stdout: an error, not a panic, when stdout is closed or full
/// (`rxscan rules | head -1`, `rxscan check > /dev/full`).
pub fn out(text: &str) -> anyhow::Result<()> {
    writeln!(std::io::stdout(), "{text}").context("cannot write to standard output")
}

/// `text` on stderr; a closed stderr is ignored, not a panic: there is nowhere left to say so.
pub fn err(text: impl std::fmt::Display) {
    let _ = write!(std::io::stderr(), "{text}");
}

/// Diagnostics in colour when stderr is a terminal (and `NO_COLOR` is not set).
pub fn colour() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}
