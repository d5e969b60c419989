//! # rxscan-synth: realistic synthetic GP extracts for PINCER
//!
//! [`generate`] writes the four tables of the rxscan data contract (`docs/DATA-CONTRACT.md`):
//! `patients`, `practice_registrations`, `medications` and `clinical_events`, as CSV and/or
//! Parquet. The data are synthetic but shaped like a real English GP extract, so that both the
//! *speed* of a scan (row counts, code cardinality, row order) and its *meaning* (PINCER measure
//! rates) are realistic.
//!
//! ## Design
//!
//! * **Patients are independent.** Patient `i` (id `i + 1`) is simulated from its own PRNG
//!   stream, seeded by `(seed, i)` (xoshiro256++ via SplitMix64, no external crate), so the
//!   record of a patient depends only on the seed, the practice count and the codelists.
//! * **Chunks, in parallel, written in order.** Patients are grouped in fixed chunks of
//!   [`CHUNK_PATIENTS`]. Rayon simulates and formats a wave of chunks in parallel while a
//!   writer thread appends the previous wave, always in chunk order. Output bytes are therefore
//!   identical for a given configuration whatever the number of threads, and memory stays
//!   bounded (a few waves of chunks) however many patients are asked for.
//! * **Rows are not grouped by patient.** Within a chunk, medication and event rows are ordered
//!   by date (a stable counting sort), interleaving thousands of patients the way a
//!   date-ordered database export does. Registrations are ordered by start date.
//! * **Fast output.** CSV is formatted by hand into per-chunk byte buffers (precomputed
//!   `YYYY-MM-DD` strings, `itoa` integers, fixed-point values). Parquet goes through Polars'
//!   batched writer (zstd level 1): one row group per chunk for the two large tables (a few
//!   hundred thousand rows), about 256k rows per row group for the small ones; string code
//!   columns have few distinct values, so Polars dictionary-encodes them. Dates are Polars
//!   `Date`, ids `Int64`, `numeric_value` `Float64` (null when absent), `comparator` a nullable
//!   string.
//!
//! ## The patient model (see the `model` folder for every rate)
//!
//! * **Demography.** Each patient is alive and registered on a random anchor day in
//!   2015-2023, with an ONS-like England age (children included; they fall outside every PINCER
//!   denominator) and sex (a few `U`/`I`). Dates of birth are the 1st of the month, as in TPP.
//!   Registration starts years before the anchor (or shortly after birth); deaths follow a
//!   Gompertz-Makeham hazard, some patients leave (deregistration), some transfer between
//!   practices (contiguous, with small gaps, or overlapping by a day or two). Practices differ
//!   in list size, NSAID prescribing and monitoring habits.
//! * **Conditions** (hypertension, AF, heart failure, cardiovascular disease, peptic ulcer / GI
//!   bleed, reflux, asthma with resolution and relapse, glaucoma, inflammatory arthritis,
//!   bipolar disorder, osteoarthritis, diabetes, hypothyroidism) have age-dependent logistic
//!   cumulative prevalence and an onset date; the diagnosis code is recorded at onset (history
//!   can predate 2015) and some are re-recorded later.
//! * **Medicines** are issued from 2015-01-01 to 2023-12-31 (or death/leaving): chronic drugs
//!   as repeat issues about every 28 days (some 56-day scripts, jitter, missed issues), NSAIDs
//!   as short acute courses. Treatment follows the conditions, with realistic interactions:
//!   PPIs with antiplatelets, anticoagulants, reflux and ulcers; antiplatelets rarely with
//!   anticoagulants; dual antiplatelet therapy for a year after some cardiovascular events;
//!   non-selective beta-blockers (including timolol eye drops and propranolol) avoided in most
//!   asthma.
//! * **Monitoring.** General blood tests at age-dependent rates, plus drug-driven monitoring
//!   (U&E for ACEI/diuretics, FBC/LFT for methotrexate, lithium levels, TFTs for amiodarone),
//!   each scaled by a per-patient engagement factor (a few patients almost never attend). A
//!   test writes several rows (e.g. FBC components), with values. eGFR follows a per-patient
//!   trajectory that declines with age; results carry comparators as labs report them
//!   (`>90`, some `<15`, mostly `=` or empty, a few `~` and missing values).
//! * **Background.** Most rows use codes that are in no codelist: a fixed pool of a few
//!   thousand fake dm+d and SNOMED CT identifiers (with valid Verhoeff check digits), for
//!   consultations, observations with values, chronic and acute medicines. On average a
//!   patient has about 30-60 medication rows and 50-100 event rows.
//!
//! Rates were tuned so that, at index date 2020-03-01, every PINCER measure lands within a
//! factor of two of the national Q1 2020 rate in INDICATORS.md §8.
#![warn(missing_docs)]

mod codes;
mod dates;
mod model;
mod rng;
mod write;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use rayon::prelude::*;

/// Patients per chunk: the unit of parallel work and of Parquet row groups (large tables).
pub const CHUNK_PATIENTS: usize = 8192;

/// First date of medication issues and routine events in a generated extract.
pub const EXTRACT_START: &str = "2015-01-01";
/// Last date of a generated extract.
pub const EXTRACT_END: &str = "2023-12-31";

/// Output file format(s).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// `TABLE.csv` files.
    #[default]
    Csv,
    /// `TABLE.parquet` files.
    Parquet,
    /// Both.
    Both,
}

impl Format {
    fn csv(self) -> bool {
        matches!(self, Format::Csv | Format::Both)
    }
    fn parquet(self) -> bool {
        matches!(self, Format::Parquet | Format::Both)
    }
}

impl FromStr for Format {
    type Err = SynthError;
    /// Parses `csv`, `parquet` or `both` (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "parquet" | "pq" => Ok(Format::Parquet),
            "both" => Ok(Format::Both),
            other => Err(SynthError::Config(format!(
                "unknown format `{other}` (expected csv, parquet or both)"
            ))),
        }
    }
}

/// What to generate and where.
#[derive(Clone, Debug)]
pub struct SynthConfig {
    /// Number of patients (all ages; about 78% are adults).
    pub patients: usize,
    /// Number of practices; ids are `1..=practices`, list sizes vary.
    pub practices: usize,
    /// Seed: the same configuration and seed give byte-identical files.
    pub seed: u64,
    /// Output folder (created if missing); files are `TABLE.csv` / `TABLE.parquet`.
    pub out: PathBuf,
    /// CSV, Parquet or both.
    pub format: Format,
    /// The `pincer-*.csv` codelists the generator draws real codes from.
    pub codelists: Codelists,
    /// Multiplier for rows whose codes are in no codelist (consultations, other medicines).
    /// 1.0 (default) is realistic; smaller values make small demo extracts.
    pub background: f64,
    /// Enrichment for small demo extracts: multiplies the rare parts of the model (treatment
    /// with lithium, amiodarone and methotrexate; NSAID prescribing; dual antiplatelet therapy
    /// and antiplatelets with anticoagulants; non-selective beta-blockers, also in asthma; and,
    /// capped at ×3, the prevalence of peptic ulcer/GI bleed, heart failure, AF and low eGFR)
    /// so that a few thousand patients reach every measure's numerator. 1.0 (default) is
    /// realistic; with more, rates are no longer national-like.
    pub enrich: f64,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            patients: 10_000,
            practices: 10,
            seed: 42,
            out: PathBuf::from("synth"),
            format: Format::Csv,
            codelists: Codelists::Dir(PathBuf::from("codelists")),
            background: 1.0,
            enrich: 1.0,
        }
    }
}

/// Where the `pincer-*.csv` codelists come from.
#[derive(Clone, Debug)]
pub enum Codelists {
    /// A folder holding them.
    Dir(PathBuf),
    /// Their texts by file name (for a program that carries the pack inside it).
    Files(Vec<(String, String)>),
}

impl Codelists {
    /// The text of one codelist file, and the path to name in messages.
    fn read(&self, file: &str) -> Result<(PathBuf, String), SynthError> {
        match self {
            Codelists::Dir(dir) => {
                let path = dir.join(file);
                std::fs::read_to_string(&path)
                    .map(|text| (path.clone(), text))
                    .map_err(|source| SynthError::Io { path, source })
            }
            Codelists::Files(files) => files
                .iter()
                .find(|(name, _)| name == file)
                .map(|(name, text)| (PathBuf::from(name), text.clone()))
                .ok_or_else(|| SynthError::Io {
                    path: PathBuf::from(file),
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "not among the built-in codelists",
                    ),
                }),
        }
    }
}

/// What [`generate`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthReport {
    /// Rows in `patients`.
    pub patients: u64,
    /// Rows in `practice_registrations`.
    pub practice_registrations: u64,
    /// Rows in `medications`.
    pub medications: u64,
    /// Rows in `clinical_events`.
    pub clinical_events: u64,
    /// Files written.
    pub files: Vec<PathBuf>,
    /// Wall-clock time of the whole run (codelists, generation and writing).
    pub elapsed: Duration,
}

impl SynthReport {
    /// `(table name, rows)` for the four tables, in contract order.
    pub fn rows(&self) -> [(&'static str, u64); 4] {
        [
            ("patients", self.patients),
            ("practice_registrations", self.practice_registrations),
            ("medications", self.medications),
            ("clinical_events", self.clinical_events),
        ]
    }

    /// What `rxscan synth` prints: each table's rows, then the files written to `out` and the
    /// time taken.
    pub fn summary(&self, out: &std::path::Path) -> String {
        let mut text = String::new();
        for (table, n) in self.rows() {
            text += &format!("{table:<24} {n:>12} rows\n");
        }
        let secs = self.elapsed.as_secs_f64();
        let files = self.files.len();
        text + &format!("wrote {files} file(s) to {} in {secs:.2}s\n", out.display())
    }
}

/// Errors from [`generate`].
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// Invalid configuration.
    #[error("invalid synth configuration: {0}")]
    Config(String),
    /// A codelist file is missing a column or holds a non-digit code.
    #[error("codelist {path}: {message}")]
    Codelist {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Building or writing Parquet failed.
    #[error("parquet: {0}")]
    Polars(#[from] polars::error::PolarsError),
    /// Encoding a Parquet page failed.
    #[error("parquet: {0}")]
    Parquet(String),
}

/// Generates a synthetic extract as configured; see the crate documentation for the model.
///
/// Runs on the current Rayon thread pool (install a pool to limit threads); the output does
/// not depend on the number of threads.
pub fn generate(cfg: &SynthConfig) -> Result<SynthReport, SynthError> {
    let t0 = Instant::now();
    if cfg.patients == 0 || cfg.patients >= u32::MAX as usize {
        return Err(SynthError::Config(format!(
            "patients must be between 1 and {}, got {}",
            u32::MAX - 1,
            cfg.patients
        )));
    }
    if cfg.practices == 0 || cfg.practices > 1_000_000 {
        return Err(SynthError::Config(format!(
            "practices must be between 1 and 1000000, got {}",
            cfg.practices
        )));
    }
    for (name, v) in [("background", cfg.background), ("enrich", cfg.enrich)] {
        if !v.is_finite() || v < 0.0 {
            return Err(SynthError::Config(format!(
                "{name} must be a finite number >= 0, got {v}"
            )));
        }
    }
    std::fs::create_dir_all(&cfg.out).map_err(|source| SynthError::Io {
        path: cfg.out.clone(),
        source,
    })?;
    let book = codes::CodeBook::load(&cfg.codelists)?;
    let practices = model::Practices::new(cfg.practices, cfg.seed);
    let model = model::Model {
        book: &book,
        practices: &practices,
        seed: cfg.seed,
        background: cfg.background,
        enrich: cfg.enrich,
    };
    let dates = dates::DateStrings::new();
    let (csv, parquet) = (cfg.format.csv(), cfg.format.parquet());
    let mut sinks = write::Sinks::open(&cfg.out, csv, parquet)?;
    let encoder = sinks.encoder()?;

    let n_chunks = cfg.patients.div_ceil(CHUNK_PATIENTS);
    let wave = (rayon::current_num_threads() * 2).max(2);
    let mut counts = [0u64; 4];

    let files = std::thread::scope(|scope| -> Result<Vec<PathBuf>, SynthError> {
        let (tx, rx) = sync_channel::<Vec<write::ChunkOut>>(1);
        let writer = scope.spawn(move || -> Result<(write::Sinks, [u64; 4]), SynthError> {
            let mut counts = [0u64; 4];
            for batch in rx {
                for chunk in batch {
                    for (c, n) in counts.iter_mut().zip(chunk.counts) {
                        *c += n;
                    }
                    sinks.write(chunk)?;
                }
            }
            Ok((sinks, counts))
        });
        let produce = || -> Result<(), SynthError> {
            for w0 in (0..n_chunks).step_by(wave) {
                let batch = (w0..(w0 + wave).min(n_chunks))
                    .into_par_iter()
                    .map(|c| {
                        let first = c * CHUNK_PATIENTS;
                        let count = CHUNK_PATIENTS.min(cfg.patients - first);
                        let rows = model.simulate(first, count);
                        write::finish_chunk(rows, &dates, &book, csv, encoder.as_ref())
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if tx.send(batch).is_err() {
                    // The writer stopped early: its error is reported below.
                    break;
                }
            }
            Ok(())
        };
        let produced = produce();
        drop(tx);
        let written = writer.join().expect("writer thread panicked");
        produced?;
        let (sinks, c) = written?;
        counts = c;
        sinks.finish()
    })?;

    Ok(SynthReport {
        patients: counts[0],
        practice_registrations: counts[1],
        medications: counts[2],
        clinical_events: counts[3],
        files,
        elapsed: t0.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use super::SynthReport;

    #[test]
    fn the_summary_lists_rows_then_files() {
        let report = SynthReport {
            patients: 10,
            practice_registrations: 12,
            medications: 3456,
            clinical_events: 7,
            files: vec!["o/patients.csv".into(), "o/medications.csv".into()],
            elapsed: Duration::from_millis(1234),
        };
        let want = "patients                           10 rows\n\
                    practice_registrations             12 rows\n\
                    medications                      3456 rows\n\
                    clinical_events                     7 rows\n\
                    wrote 2 file(s) to o in 1.23s\n";
        assert_eq!(report.summary(Path::new("o")), want);
    }

    /// The shared PINCER codelists (override with `RXSCAN_CODELISTS`).
    pub(crate) fn codelist_dir() -> PathBuf {
        if let Ok(p) = std::env::var("RXSCAN_CODELISTS") {
            return PathBuf::from(p);
        }
        let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        for cand in [
            manifest.join("../../rules/pincer/codelists"),
            manifest.join("../../../shared/pincer/codelists"),
        ] {
            if cand.join("pincer-nsaid.csv").exists() {
                return cand;
            }
        }
        panic!("PINCER codelists not found; set RXSCAN_CODELISTS");
    }
}
