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
use crate::evidence::Evidence;
use crate::extract::{ExtractError, LoadReport, Mapping};
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
    /// own, or files `mapping` names (an export in the mapping's layout, whose files may all
    /// sit in subfolders), otherwise the practice folders in it (hidden folders, `.name`, are
    /// skipped). A folder with neither is read as an extract, so its error names the missing
    /// tables.
    pub fn find(dir: &Path, mapping: Option<&Mapping>) -> Result<Data, Error> {
        if mapping.is_some_and(|m| m.names_files_in(dir)) {
            return Ok(Data::Extract(dir.to_path_buf()));
        }
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

    /// The one extract this is, for a caller that needs one export (a patient: pseudonymised
    /// ids are unique only within one practice's export), or an error naming the practice
    /// folders to choose from.
    pub fn one_extract(self) -> Result<PathBuf, PracticeFolders> {
        match self {
            Data::Extract(dir) => Ok(dir),
            Data::Practices(folders) => Err(PracticeFolders(
                folders.into_iter().map(|f| f.name).collect(),
            )),
        }
    }
}

/// A folder of practice folders where one extract was needed ([`Data::one_extract`]): their
/// names, in order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a folder of practice folders; give the patient's practice folder (one of: {})", .0.join(", "))]
pub struct PracticeFolders(pub Vec<String>);

/// One extract scanned: its results, what was read, and what the caller may want to say
/// about it (the library never prints).
#[derive(Debug)]
pub struct ExtractScan {
    pub results: Results,
    /// What was read, and the load and evaluation times.
    pub facts: RunFacts,
    /// How the extract was read, step by step (`rxscan scan --verbose`).
    pub load_report: String,
    /// Warnings about the data (no patients).
    pub warnings: Vec<String>,
    /// Rows skipped because their patient is not in `patients` ([`Scan::skip_orphans`]): the
    /// file and the count.
    pub orphans_skipped: Vec<(String, usize)>,
    /// What the load read and found (files, absent columns, notes, sex values).
    pub report: LoadReport,
    /// The flagged patients traced, when the scan asks for evidence ([`Scan::with_evidence`])
    /// and the results carry patient rows.
    pub evidence: Option<Evidence>,
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
    /// Load and evaluate one extract folder. `practice` names the practice of registrations
    /// without a `practice_pseudo_id` column (a batch's folder name); `None` requires it.
    pub fn scan_extract(
        &self,
        dir: &Path,
        practice: Option<&str>,
        opts: &EvalOptions,
    ) -> Result<ExtractScan, Error> {
        let started = Instant::now();
        let mut load = self.load.clone();
        load.practice_if_no_column = practice.map(str::to_string);
        let extract = crate::extract::Extract::load(dir, &load)?;
        let loaded = started.elapsed();
        let results = self.evaluate(&extract, opts)?;
        // Evidence is a second, small pass over the flagged patients only, while this
        // extract is in memory.
        let evidence = (self.traces_evidence() && opts.patient_rows)
            .then(|| crate::evidence::for_flagged(self.plan(), self.history(), &extract, &results))
            .transpose()?;
        let facts = RunFacts {
            load: loaded,
            evaluate: started.elapsed() - loaded,
            total: started.elapsed(),
            ..RunFacts::of(&extract)
        };
        let mut warnings = Vec::new();
        if facts.patients == 0 {
            warnings.push(format!(
                "{}: no patients (the tables have a header and no rows)",
                dir.display()
            ));
        }
        Ok(ExtractScan {
            results,
            orphans_skipped: extract.orphans_skipped.clone(),
            report: extract.report.clone(),
            evidence,
            facts,
            load_report: super::facts::load_report(&extract),
            warnings,
        })
    }

    /// Scan what a data folder holds: one extract (an error stops it), or every practice
    /// folder in parallel, merged (a failing folder is listed in [`Batch::failed`] and the
    /// others go on); `on_folder` is called with each practice folder's name as it finishes
    /// (for progress).
    pub fn run(
        &self,
        data: &Data,
        opts: &EvalOptions,
        on_folder: &(dyn Fn(&str) + Sync),
    ) -> Result<Batch, Error> {
        let started = Instant::now();
        let folders = match data {
            Data::Extract(dir) => {
                let one = self.scan_extract(dir, None, opts)?;
                return Ok(Batch {
                    results: Some(one.results),
                    facts: one.facts,
                    load_report: one.load_report,
                    warnings: one.warnings,
                    orphans_skipped: one.orphans_skipped,
                    report: one.report,
                    evidence: one.evidence,
                    failed: Vec::new(),
                });
            }
            Data::Practices(folders) => folders,
        };
        let outcomes: Vec<Result<ExtractScan, FolderError>> = folders
            .par_iter()
            .map(|folder| {
                let outcome = self
                    .scan_extract(&folder.path, Some(&folder.name), opts)
                    .map_err(|error| FolderError {
                        folder: folder.clone(),
                        error: Box::new(error),
                    });
                on_folder(&folder.name);
                outcome
            })
            .collect();
        let mut batch = Batch {
            results: None,
            facts: RunFacts::default(),
            load_report: String::new(),
            warnings: Vec::new(),
            orphans_skipped: Vec::new(),
            report: LoadReport::default(),
            evidence: None,
            failed: Vec::new(),
        };
        let mut parts = Vec::new();
        for (folder, outcome) in folders.iter().zip(outcomes) {
            match outcome {
                Ok(part) => {
                    let name = &folder.name;
                    batch.facts += &part.facts;
                    batch.orphans_skipped.extend(part.orphans_skipped);
                    batch.report.add(&part.report);
                    if let Some(e) = part.evidence {
                        let all = batch.evidence.get_or_insert_with(Evidence::default);
                        all.flagged.extend(e.flagged);
                    }
                    for line in part.load_report.lines() {
                        batch.load_report.push_str(&format!("{name}: {line}\n"));
                    }
                    let empty = part.facts.patients == 0;
                    batch.warnings.extend(
                        part.warnings
                            .into_iter()
                            .filter(|_| !empty)
                            .map(|w| format!("practice folder {name}: {w}")),
                    );
                    if empty {
                        batch.warnings.push(format!(
                            "practice folder {name}: no patients (its tables have a header and no rows)"
                        ));
                    }
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
        Ok(batch)
    }
}

/// A scan's outcome: the (merged) results, what was read, and, for a folder of practice
/// folders, the folders that failed (in folder order).
#[derive(Debug)]
pub struct Batch {
    /// `None` when no practice folder could be scanned.
    pub results: Option<Results>,
    /// Summed over the folders; for a batch, `load` is the wall time of the whole batch.
    pub facts: RunFacts,
    /// How each extract was read (`--verbose`).
    pub load_report: String,
    /// Warnings about the data, each naming its folder in a batch.
    pub warnings: Vec<String>,
    /// Rows skipped because their patient is not in `patients`: the file and the count.
    pub orphans_skipped: Vec<(String, usize)>,
    /// What the loads read and found, every folder's together ([`Scan::warnings`] and
    /// `run.json` read it).
    pub report: LoadReport,
    /// Every folder's flagged patients traced, in folder order (with evidence asked for).
    pub evidence: Option<Evidence>,
    pub failed: Vec<FolderError>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_extract_names_the_practice_folders_to_choose_from() {
        let pcn = tempfile::tempdir().unwrap();
        for name in ["b", "a", ".hidden"] {
            std::fs::create_dir(pcn.path().join(name)).unwrap();
        }
        let err = Data::find(pcn.path(), None)
            .unwrap()
            .one_extract()
            .unwrap_err();
        assert_eq!(err, PracticeFolders(vec!["a".into(), "b".into()]));
        assert_eq!(
            err.to_string(),
            "a folder of practice folders; give the patient's practice folder (one of: a, b)"
        );
        let one = pcn.path().join("a");
        std::fs::write(one.join("patients.csv"), "patient_id\n").unwrap();
        assert_eq!(Data::find(&one, None).unwrap().one_extract(), Ok(one));
    }
}
