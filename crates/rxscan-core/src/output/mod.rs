//! Stage: output. Renders [`Results`] (one renderer per format, one file each: `summary.rs`,
//! `patients.rs`, `composites.rs`, `practices.rs`, `report.rs` with its helpers `charts.rs` and
//! `html.rs`, `evidence.rs`, `action_lists.rs` (a folder of files), `run.rs`, `errors.rs`,
//! `terminal.rs`; and the text of commands: `why.rs`, `pack.rs`) and writes a scan's files as a
//! folder, atomically. A new output is a new renderer beside these and one more entry in the
//! file set below. `job.rs` is a whole scan, from a data folder to the output folder and the
//! terminal summary (what `rxscan scan` does).
//!
//! This module owns the set of files a scan writes and the privacy rule that goes with it:
//! under small-number suppression no patient-level file is written, and any left by an
//! earlier run into the same folder is removed, so a folder meant for sharing holds only
//! suppressed aggregates. Files are staged beside the output folder and moved into place
//! together ([`folder`]).

pub mod action_lists;
mod charts;
mod composites;
mod errors;
mod evidence;
pub mod folder;
mod html;
pub mod job;
pub mod pack;
mod patients;
mod practices;
mod report;
pub mod run;
mod summary;
pub mod terminal;
pub mod why;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use rayon::prelude::*;

pub use folder::{abandon_all, OutputError};

use crate::evidence::Evidence;
use crate::results::{Results, Suppression};
use crate::scan::FolderError;

/// What every renderer reads: the results, the suppression in force, and whatever else a
/// scan produced for its outputs. A new output that needs more than [`Results`] adds a field
/// here (an `Option` when only some scans produce it).
#[derive(Clone, Copy)]
pub struct RenderInput<'a> {
    pub results: &'a Results,
    pub suppression: Suppression,
    /// Practice folders of a batch scan that failed (`--keep-going`); empty otherwise.
    pub failed_folders: &'a [FolderError],
    /// What produced the results (`run.json`; not written without it).
    pub run: Option<&'a run::RunRecord>,
    /// The traces of flagged patients ([`crate::evidence::for_flagged`]), when the scan
    /// computed them: `evidence.jsonl` and `action_lists/` are written only then.
    pub evidence: Option<&'a Evidence>,
}

impl<'a> RenderInput<'a> {
    /// The input of a scan that produced only results.
    pub fn of(results: &'a Results, suppression: Suppression) -> RenderInput<'a> {
        RenderInput {
            results,
            suppression,
            failed_folders: &[],
            run: None,
            evidence: None,
        }
    }
}

/// A file of a folder output: its name and contents.
type NamedFile = (String, Vec<u8>);

/// How an output is rendered: one file, or a folder of files replaced as a whole (so a
/// practice no longer flagged leaves no stale list behind).
enum Render {
    File(fn(&RenderInput, &mut dyn Write) -> std::io::Result<()>),
    Folder(fn(&RenderInput) -> Vec<NamedFile>),
}

/// One output: its name, whether it names patients, whether this scan writes it (it has what
/// the output needs), and how it is rendered.
struct OutputFile {
    name: &'static str,
    patient_level: bool,
    when: fn(&RenderInput) -> bool,
    render: Render,
}

/// Every file a scan may write, in the order written.
const FILES: &[OutputFile] = &[
    OutputFile {
        name: "summary.csv",
        patient_level: false,
        when: always,
        render: Render::File(|i, w| summary::write(i.results, w, i.suppression)),
    },
    OutputFile {
        name: "composites.csv",
        patient_level: false,
        when: always,
        render: Render::File(|i, w| composites::write(i.results, w, i.suppression)),
    },
    OutputFile {
        name: "practices.csv",
        patient_level: false,
        when: always,
        render: Render::File(|i, w| practices::write(i.results, w, i.suppression)),
    },
    OutputFile {
        name: "report.html",
        patient_level: false,
        when: always,
        render: Render::File(report::write),
    },
    OutputFile {
        name: "patients.csv",
        patient_level: true,
        when: always,
        render: Render::File(|i, w| patients::write(i.results, w)),
    },
    OutputFile {
        name: "evidence.jsonl",
        patient_level: true,
        when: |i| i.evidence.is_some(),
        render: Render::File(|i, w| evidence::write(i.results, i.evidence, w)),
    },
    OutputFile {
        name: "action_lists",
        patient_level: true,
        when: |i| i.evidence.is_some(),
        render: Render::Folder(|i| action_lists::render(i.results, i.evidence)),
    },
    OutputFile {
        name: "errors.txt",
        patient_level: false,
        when: |i| !i.failed_folders.is_empty(),
        render: Render::File(errors::write),
    },
    OutputFile {
        name: "run.json",
        patient_level: false,
        when: |i| i.run.is_some(),
        render: Render::File(|i, w| match i.run {
            Some(r) => run::write(r, w),
            None => Ok(()),
        }),
    },
];

fn always(_: &RenderInput) -> bool {
    true
}

/// What to write.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutputOptions {
    pub suppression: Suppression,
    /// Write patient-level files (ignored under suppression: they are never written then).
    pub patient_level: bool,
}

impl OutputOptions {
    /// The options of a scan that is shared (`suppress`: small-number suppression,
    /// [`Suppression::Redact7Round5`], and so no patient-level file) or not, and that writes
    /// patient-level files when it may (`patient_level`).
    pub fn new(suppress: bool, patient_level: bool) -> OutputOptions {
        let suppression = match suppress {
            true => Suppression::Redact7Round5,
            false => Suppression::None,
        };
        OutputOptions {
            suppression,
            patient_level,
        }
    }

    /// Whether patient-level files are written: asked for, and no suppression.
    pub fn writes_patient_level(&self) -> bool {
        self.patient_level && self.suppression == Suppression::None
    }
}

/// Write a scan's outputs into `out` (created if missing): every file is staged beside it and
/// moved in only when all are complete; output files of an earlier run that this run does not
/// write are removed. The files are rendered in parallel, one task each (at 1M patients the
/// patient list, the report and the action lists each take tens of milliseconds); the first
/// error in the order of the file set is the one returned. `on_staged` is called with each
/// file's name once all are staged, in that order (for progress). Returns the paths written.
pub fn write_folder(
    out: &std::path::Path,
    input: &RenderInput,
    opts: &OutputOptions,
    on_staged: &mut dyn FnMut(&str),
) -> Result<Vec<PathBuf>, OutputError> {
    let staging = folder::Staging::new(out)?;
    let patient_level = opts.writes_patient_level();
    let (chosen, left): (Vec<&OutputFile>, Vec<&OutputFile>) = FILES
        .iter()
        .partition(|o| (patient_level || !o.patient_level) && (o.when)(input));
    let staged: Vec<Result<(), OutputError>> = chosen
        .par_iter()
        .map(|output| stage(&staging, output, input))
        .collect();
    staged.into_iter().collect::<Result<Vec<()>, _>>()?;
    let written: Vec<&str> = chosen.iter().map(|o| o.name).collect();
    for name in &written {
        on_staged(name);
    }
    let obsolete: Vec<&str> = left.iter().map(|o| o.name).collect();
    staging.commit(&written, &obsolete)
}

/// Render one output into the staging folder.
fn stage(
    staging: &folder::Staging,
    output: &OutputFile,
    input: &RenderInput,
) -> Result<(), OutputError> {
    match output.render {
        Render::File(render) => write_file(&staging.path(output.name)?, |w| render(input, w)),
        Render::Folder(render) => {
            let dir = staging.folder(output.name)?;
            for (file, bytes) in render(input) {
                write_file(&dir.join(file), |w| w.write_all(&bytes))?;
            }
            Ok(())
        }
    }
}

fn write_file(
    path: &std::path::Path,
    render: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), OutputError> {
    let file = File::create(path).map_err(|e| folder::err(path, format!("cannot create: {e}")))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    render(&mut w)
        .and_then(|()| w.flush())
        .map_err(|e| folder::err(path, format!("cannot write: {e}")))
}
