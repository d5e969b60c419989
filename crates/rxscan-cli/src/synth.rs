//! `rxscan synth`: write a synthetic extract (`rxscan_synth::generate_on`).

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use clap::Args;
use rxscan_core::packs::Builtin;
use rxscan_synth::{Codelists, SynthConfig};

use crate::out;
use crate::rules::check_folder;

#[derive(Args)]
pub struct SynthArgs {
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

pub fn run(args: SynthArgs) -> Result<()> {
    let format = args.format.parse();
    let format = format.map_err(|e| anyhow!("--format {}: {e}", args.format))?;
    let codelists = match args.codelists {
        Some(dir) => check_folder("--codelists", &dir).map(|()| Codelists::Dir(dir))?,
        None => Codelists::Files(Builtin::codelist_files()),
    };
    let cfg = SynthConfig {
        patients: args.patients,
        practices: args.practices,
        seed: args.seed,
        out: args.out,
        format,
        codelists,
        background: args.background,
        enrich: args.enrich,
    };
    let threads = args.threads.unwrap_or(0);
    let report = rxscan_synth::generate_on(&cfg, threads).map_err(|e| anyhow!("{e}"))?;
    out(report.summary(&cfg.out).trim_end())
}
