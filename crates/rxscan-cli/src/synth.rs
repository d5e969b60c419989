//! `rxscan synth`: write a synthetic extract (`rxscan_synth::generate`).

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use clap::Args;
use rxscan_core::packs::Builtin;
use rxscan_synth::{Codelists, Format, SynthConfig};

use crate::args::{folder, use_threads};
use crate::out;

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
    format: Format,
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
    let codelists = match args.codelists {
        Some(dir) => folder("--codelists", &dir).map(|()| Codelists::Dir(dir))?,
        None => Codelists::Files(Builtin::codelist_files()),
    };
    let cfg = SynthConfig {
        patients: args.patients,
        practices: args.practices,
        seed: args.seed,
        out: args.out,
        format: args.format,
        codelists,
        background: args.background,
        enrich: args.enrich,
    };
    use_threads(args.threads)?;
    let report = rxscan_synth::generate(&cfg).map_err(|e| anyhow!("{e}"))?;
    out(report.summary(&cfg.out).trim_end())
}
