//! A whole scan as one call: find what the data folder holds, load and evaluate it (a batch of
//! practice folders in parallel), trace the flagged patients when patient-level files are
//! written, record the run (`run.json`), write the output folder and summarise. This is what
//! `rxscan scan` does; a program gets the same files and the same messages from one call, and
//! the command line keeps only its flags, its progress bar and its exit codes.
//!
//! The library never prints: what a person should see while the run goes (what it is doing,
//! notes, warnings, the practice folders that failed) comes to the caller as [`Event`]s, in the
//! order a command line shows them, and the terminal summary comes back in the [`Outcome`].
//! Whether a failed practice folder stops the run is the caller's choice ([`Job::keep_going`]):
//! stopped, nothing is written.

use std::path::PathBuf;
use std::time::Instant;

use super::{run::RunRecord, terminal, write_folder, OutputOptions, RenderInput};
use crate::error::Error;
use crate::eval::EvalOptions;
use crate::packs::Pack;
use crate::scan::{Data, FolderError, Scan};

/// A scan to run and write.
#[derive(Debug)]
pub struct Job {
    /// The pack the plan was compiled from (hashed into `run.json`).
    pub pack: Pack,
    /// The plan at its dates, with its load options; evidence is added here when patient-level
    /// files are written ([`Scan::with_evidence`]), never under suppression.
    pub scan: Scan,
    /// An extract folder, or a folder of practice folders ([`Data::find`]).
    pub data: PathBuf,
    /// The output folder (created if missing; replaced as a whole, see [`write_folder`]).
    pub out: PathBuf,
    pub output: OutputOptions,
    /// With practice folders: when one fails, write the others' results and list the failures
    /// in `errors.txt`, rather than stop with the first failure ([`JobError::Stopped`]).
    pub keep_going: bool,
    /// Also report how each table was read, step by step ([`Event::Message`]).
    pub verbose: bool,
    /// When the run started: the summary's total time counts from here, so a caller's start
    /// (compiling the pack included) can be given.
    pub started: Instant,
}

/// What a running job reports, as it happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// What the run does now (`scanning DIR`, `writing results (summary.csv done)`).
    Stage(&'a str),
    /// A batch of this many practice folders starts.
    Folders(usize),
    /// One practice folder is done, scanned or failed (sent from worker threads).
    FolderDone,
    /// Whole lines for the person running the scan: a note, a warning, a practice folder that
    /// failed while the run kept going, or (verbose) how the tables were read.
    Message(&'a str),
    /// An output file (or folder) is staged, not yet moved into the output folder.
    Staged(&'a str),
}

/// A job that ran to the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The terminal summary ([`terminal::render`]), with the files written and the total time.
    pub summary: String,
    /// Practice folders that failed (the run kept going): their results are not in the files.
    pub failed: usize,
    out: PathBuf,
}

impl Outcome {
    /// An error when practice folders failed, so a run that wrote partial results does not
    /// look like a complete one.
    pub fn complete(&self) -> Result<(), Error> {
        match self.failed {
            0 => Ok(()),
            failed => Err(JobError::SomeFailed {
                failed,
                out: self.out.clone(),
            }
            .into()),
        }
    }
}

/// Why a job stopped, or why its results are incomplete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// A practice folder failed and the job does not keep going: nothing was written.
    #[error("{0} (nothing written)")]
    Stopped(FolderError),
    /// Every practice folder failed.
    #[error("no practice folder could be scanned")]
    NothingScanned,
    #[error("cannot hash the rule pack {pack}")]
    Fingerprint {
        pack: String,
        #[source]
        source: std::io::Error,
    },
    /// Written, without the practice folders that failed ([`Outcome::complete`]).
    #[error("{failed} practice folder(s) failed; the other practices' results are in {} (see errors.txt)", out.display())]
    SomeFailed { failed: usize, out: PathBuf },
}

impl Job {
    /// Run the job, telling `on` what happens as it happens (see the module doc). An error
    /// writing the output folder is [`Error::Output`]; nothing else is written then.
    pub fn run(self, on: &(dyn Fn(Event) + Sync)) -> Result<Outcome, Error> {
        let output = self.output;
        let suppression = output.suppression;
        let scan = match output.writes_patient_level() {
            true => self.scan.with_evidence(),
            false => self.scan,
        };
        let eval_opts = EvalOptions {
            patient_rows: output.writes_patient_level(),
        };
        let data = Data::find(&self.data, scan.load_options().mapping.as_deref())?;
        match &data {
            Data::Extract(dir) => on(Event::Stage(&format!("scanning {}", dir.display()))),
            Data::Practices(folders) => on(Event::Folders(folders.len())),
        }
        let batch = scan.run(&data, &eval_opts, &|_| on(Event::FolderDone))?;
        if self.verbose {
            on(Event::Message(&batch.load_report));
        }
        for note in &batch.report.notes {
            on(Event::Message(&format!("note: {note}\n")));
        }
        let mut warnings = scan.warnings(&batch.report, &batch.orphans_skipped, suppression);
        warnings.extend(batch.warnings);
        for warning in &warnings {
            on(Event::Message(&format!("warning: {warning}\n")));
        }
        let mut failed = batch.failed;
        if !self.keep_going && !failed.is_empty() {
            return Err(JobError::Stopped(failed.remove(0)).into());
        }
        for folder in &failed {
            on(Event::Message(&format!("error: {folder}\n")));
        }
        let run = RunRecord::new(&self.pack, &scan, &batch.report, &warnings, suppression)
            .map_err(|source| JobError::Fingerprint {
                pack: self.pack.name(),
                source,
            })?;
        let results = batch.results.ok_or(JobError::NothingScanned)?;
        on(Event::Stage("writing results"));
        let input = RenderInput {
            failed_folders: &failed,
            run: Some(&run),
            evidence: batch.evidence.as_ref(),
            ..RenderInput::of(&results, suppression)
        };
        let mut facts = batch.facts;
        facts.written = write_folder(&self.out, &input, &output, &mut |name| {
            on(Event::Stage(&format!("writing results ({name} done)")));
            on(Event::Staged(name));
        })?;
        facts.total = self.started.elapsed();
        Ok(Outcome {
            summary: terminal::render(&results, suppression, &facts),
            failed: failed.len(),
            out: self.out,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Mutex;

    use super::*;
    use crate::results::Suppression;
    use crate::IndexDates;

    const E2E: &str = "../../testdata/e2e";

    fn job(data: &Path, out: &Path, suppression: Suppression, keep_going: bool) -> Job {
        let plan = Pack::BuiltinPincer
            .compile(&Default::default())
            .unwrap()
            .plan;
        let dates = IndexDates::of([IndexDates::parse("2020-03-01").unwrap()]).unwrap();
        Job {
            pack: Pack::BuiltinPincer,
            scan: Scan::new(plan, dates),
            data: data.to_path_buf(),
            out: out.to_path_buf(),
            output: OutputOptions {
                suppression,
                patient_level: true,
            },
            keep_going,
            verbose: false,
            started: Instant::now(),
        }
    }

    /// Runs `job`, recording its events as text.
    fn run(job: Job) -> (Result<Outcome, Error>, Vec<String>) {
        let events = Mutex::new(Vec::new());
        let outcome = job.run(&|e| events.lock().unwrap().push(format!("{e:?}")));
        (outcome, events.into_inner().unwrap())
    }

    #[test]
    fn one_extract_is_scanned_then_each_file_staged_in_order() {
        let out = tempfile::tempdir().unwrap();
        let (outcome, events) = run(job(E2E.as_ref(), out.path(), Suppression::None, false));
        let outcome = outcome.unwrap();
        let staged: Vec<&String> = events.iter().filter(|e| e.starts_with("Staged")).collect();
        assert_eq!(events[0], format!("Stage(\"scanning {E2E}\")"));
        assert_eq!(events[1], "Stage(\"writing results\")");
        assert_eq!(events[2], "Stage(\"writing results (summary.csv done)\")");
        let files = [
            "summary.csv",
            "composites.csv",
            "practices.csv",
            "report.html",
            "patients.csv",
            "evidence.jsonl",
            "action_lists",
            "run.json",
        ];
        assert_eq!(
            staged,
            files
                .map(|f| format!("Staged(\"{f}\")"))
                .iter()
                .collect::<Vec<_>>()
        );
        for file in files {
            assert!(out.path().join(file).exists(), "{file}");
        }
        assert_eq!(outcome.failed, 0);
        assert!(outcome.complete().is_ok());
        assert!(
            outcome.summary.starts_with("rxscan: "),
            "{}",
            outcome.summary
        );
    }

    #[test]
    fn suppression_stages_no_patient_level_file() {
        let out = tempfile::tempdir().unwrap();
        let (outcome, events) = run(job(
            E2E.as_ref(),
            out.path(),
            Suppression::Redact7Round5,
            false,
        ));
        outcome.unwrap();
        let staged = events.iter().filter(|e| e.starts_with("Staged")).count();
        // summary, composites, practices, report, run.json.
        assert_eq!(staged, 5, "{events:?}");
        assert!(!out.path().join("patients.csv").exists());
    }

    /// Practice folder `a` (the e2e extract) and `b` (no tables): stopped at `b` with nothing
    /// written, or, keeping going, `a` written and `b` listed.
    #[test]
    fn a_failed_practice_folder_stops_the_job_unless_it_keeps_going() {
        let data = tempfile::tempdir().unwrap();
        let (a, b) = (data.path().join("a"), data.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        for entry in std::fs::read_dir(E2E).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "csv") {
                std::fs::copy(&path, a.join(path.file_name().unwrap())).unwrap();
            }
        }
        let out = data.path().join(".out");
        let (stopped, _) = run(job(data.path(), &out, Suppression::None, false));
        let Err(Error::Job(JobError::Stopped(folder))) = stopped else {
            panic!("not stopped: {stopped:?}");
        };
        assert_eq!(folder.folder.name, "b");
        assert!(!out.exists());
        let (outcome, events) = run(job(data.path(), &out, Suppression::None, true));
        let outcome = outcome.unwrap();
        assert_eq!(&events[..3], ["Folders(2)", "FolderDone", "FolderDone"]);
        assert!(events
            .iter()
            .any(|e| e.starts_with("Message(\"error: practice folder b: ")));
        assert_eq!(outcome.failed, 1);
        assert!(out.join("errors.txt").exists() && out.join("summary.csv").exists());
        assert_eq!(
            outcome.complete().unwrap_err().to_string(),
            format!(
                "1 practice folder(s) failed; the other practices' results are in {} (see errors.txt)",
                out.display()
            )
        );
    }
}
