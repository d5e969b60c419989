//! Batch scans of a PCN: a folder whose subfolders each hold one practice's extract (how
//! practices export). Each folder is loaded and evaluated on its own, in parallel, because
//! pseudonymised patient ids are only unique within one export; the results are merged
//! ([`crate::results::merge`]), so the same id in two folders is two patients.
//!
//! A folder whose registrations carry no `practice_pseudo_id` column takes the folder's name.
//! A folder whose tables hold a header and no rows is an empty practice: it loads, adds no rows,
//! and is reported. A folder that fails is reported with its name; whether the run stops is the
//! caller's choice (`--keep-going`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

use super::{RunFacts, Scan};
use crate::error::Error;
use crate::eval::EvalOptions;
use crate::extract::ExtractError;
use crate::results::Results;

/// What a data folder holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// One extract: the table files are in the folder itself.
    Extract(PathBuf),
    /// A folder of practice folders, each one extract (sorted by name).
    Practices(Vec<PracticeFolder>),
}

/// One practice's extract folder in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PracticeFolder {
    /// The folder's name: how errors name it, and the practice id when its registrations
    /// have no `practice_pseudo_id` column.
    pub name: String,
    pub path: PathBuf,
}

/// Extensions of the files an extract's tables may be read from.
const TABLE_FILES: &[&str] = &[".csv", ".parquet", ".csv.gz", ".csv.zst"];

impl Data {
    /// What `dir` holds: an extract when it has table files (`.csv`, `.parquet`, ...) of its
    /// own, otherwise the practice folders in it (hidden folders, `.name`, are skipped). A
    /// folder with neither is read as an extract, so its error names the missing tables.
    pub fn find(dir: &Path) -> Result<Data, Error> {
        let unreadable = |e: std::io::Error| {
            Error::from(ExtractError::Unreadable {
                path: dir.to_path_buf(),
                message: e.to_string(),
            })
        };
        let mut folders = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(unreadable)? {
            let entry = entry.map_err(unreadable)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if path.is_dir() {
                if !name.starts_with('.') {
                    folders.push(PracticeFolder { name, path });
                }
            } else if TABLE_FILES.iter().any(|ext| name.ends_with(ext)) {
                return Ok(Data::Extract(dir.to_path_buf()));
            }
        }
        if folders.is_empty() {
            return Ok(Data::Extract(dir.to_path_buf()));
        }
        folders.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Data::Practices(folders))
    }
}

/// One practice folder scanned.
#[derive(Debug)]
pub struct PracticeScan {
    pub folder: PracticeFolder,
    pub results: Results,
    /// What was read, and the folder's load and evaluation times.
    pub facts: RunFacts,
}

impl PracticeScan {
    /// Whether the folder held no patients (its tables had a header and no rows).
    pub fn is_empty(&self) -> bool {
        self.facts.patients == 0
    }
}

/// A practice folder that could not be scanned.
#[derive(Debug)]
pub struct FolderError {
    pub folder: PracticeFolder,
    pub error: Box<Error>,
}

impl std::fmt::Display for FolderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "practice folder {}: {}", self.folder.name, self.error)
    }
}

impl Scan {
    /// Load and evaluate one practice folder (its name is the practice of registrations
    /// without a `practice_pseudo_id` column).
    pub fn scan_practice(
        &self,
        folder: &PracticeFolder,
        opts: &EvalOptions,
    ) -> Result<PracticeScan, FolderError> {
        let fail = |error| FolderError {
            folder: folder.clone(),
            error: Box::new(error),
        };
        let started = Instant::now();
        let mut load = self.load.clone();
        load.practice_if_no_column = Some(folder.name.clone());
        let extract =
            crate::extract::Extract::load(&folder.path, &load).map_err(|e| fail(e.into()))?;
        let loaded = started.elapsed();
        let results = self.evaluate(&extract, opts).map_err(fail)?;
        let facts = RunFacts {
            load: loaded,
            evaluate: started.elapsed() - loaded,
            total: started.elapsed(),
            ..RunFacts::of(&extract)
        };
        Ok(PracticeScan {
            folder: folder.clone(),
            results,
            facts,
        })
    }

    /// Scan every practice folder, in parallel; `on_done` is called with each folder's name
    /// as it finishes (for progress). Outcomes come back in the folders' order.
    pub fn scan_practices(
        &self,
        folders: &[PracticeFolder],
        opts: &EvalOptions,
        on_done: &(dyn Fn(&str) + Sync),
    ) -> Vec<Result<PracticeScan, FolderError>> {
        folders
            .par_iter()
            .map(|folder| {
                let outcome = self.scan_practice(folder, opts);
                on_done(&folder.name);
                outcome
            })
            .collect()
    }
}

/// A batch scan's outcome: the merged results of the folders that scanned, what they read,
/// and the folders that were empty or failed (in folder order).
#[derive(Debug)]
pub struct Batch {
    /// `None` when no folder scanned.
    pub results: Option<Results>,
    /// Summed over the folders; `load` is the wall time of the whole batch.
    pub facts: RunFacts,
    /// Folders whose tables held a header and no rows.
    pub empty: Vec<String>,
    pub failed: Vec<FolderError>,
}

impl Scan {
    /// Scan every practice folder in parallel and merge their results.
    pub fn scan_batch(
        &self,
        folders: &[PracticeFolder],
        opts: &EvalOptions,
        on_done: &(dyn Fn(&str) + Sync),
    ) -> Batch {
        let started = Instant::now();
        let mut batch = Batch {
            results: None,
            facts: RunFacts::default(),
            empty: Vec::new(),
            failed: Vec::new(),
        };
        let mut parts = Vec::new();
        for outcome in self.scan_practices(folders, opts, on_done) {
            match outcome {
                Ok(part) => {
                    if part.is_empty() {
                        batch.empty.push(part.folder.name.clone());
                    }
                    batch.facts += &part.facts;
                    parts.push(part.results);
                }
                Err(e) => batch.failed.push(e),
            }
        }
        batch.results = crate::results::merge(parts);
        batch.facts.practices = batch.results.as_ref().map_or(0, |r| r.practices.len());
        batch.facts.folders = folders.len();
        batch.facts.load = started.elapsed();
        batch.facts.evaluate = std::time::Duration::ZERO;
        batch
    }
}
