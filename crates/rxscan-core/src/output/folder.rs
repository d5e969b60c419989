//! Writing a set of files into an output folder so that a reader only ever sees a complete set.
//!
//! Files are written first into a *staging* folder beside the output folder (never inside it:
//! an output folder zipped to be shared must not carry a half-written patient list), then
//! renamed into place under a process-wide commit lock. [`abandon_all`] (called by a signal
//! handler) takes the same lock, so an interrupt either waits for a commit that has started to
//! finish, or removes every staging folder before the first rename: the output folder holds
//! the previous complete set or the new one, never a mixture.
//!
//! A run killed outright (`kill -9`) cannot clean up; its staging folder is found and removed
//! by the next run into the same place. Each staging folder holds a lock file that its process
//! keeps locked (`File::try_lock`) for as long as it lives, so a staging folder whose lock
//! can be taken belongs to a dead process, whatever the platform.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The staging folders this process has open (to remove on an interrupt).
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Lock file inside a staging folder, locked by the process writing it.
const LOCK_FILE: &str = ".lock";

/// Prefix of the staging folders earlier versions made *inside* the output folder.
const LEGACY_PREFIX: &str = ".rxscan-tmp-";

fn live() -> MutexGuard<'static, Vec<PathBuf>> {
    // A panic while holding the lock leaves the list as it was; it is still the right list.
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Remove every staging folder of this process and hold the commit lock until the process
/// ends: call it from a signal handler just before exiting. Returns the guard; keep it alive
/// (the process is about to exit, so no commit can start afterwards).
pub fn abandon_all() -> MutexGuard<'static, Vec<PathBuf>> {
    let mut live = live();
    for dir in live.drain(..) {
        let _ = fs::remove_dir_all(dir);
    }
    live
}

/// Why an output folder could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct OutputError {
    pub path: PathBuf,
    pub message: String,
}

pub(super) fn err(path: &Path, message: impl std::fmt::Display) -> OutputError {
    OutputError {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// A staging folder beside an output folder, removed when dropped unless committed.
pub struct Staging {
    out: PathBuf,
    dir: PathBuf,
    /// Held (locked) for the life of the staging folder.
    _lock: File,
}

/// The output folder, created if missing, and the name prefix of its staging folders.
fn prepare(out: &Path) -> Result<(PathBuf, PathBuf, String), OutputError> {
    if out.exists() && !out.is_dir() {
        return Err(err(out, "exists and is not a folder"));
    }
    fs::create_dir_all(out).map_err(|e| err(out, format!("cannot create the folder: {e}")))?;
    let abs = fs::canonicalize(out).map_err(|e| err(out, e))?;
    let (Some(parent), Some(name)) = (abs.parent(), abs.file_name()) else {
        return Err(err(
            out,
            "results are staged beside the output folder, and the root folder has no parent; choose a folder inside it",
        ));
    };
    let prefix = format!(".{}.rxscan-staging-", name.to_string_lossy());
    Ok((abs.clone(), parent.to_path_buf(), prefix))
}

/// Remove staging folders left by runs that died (their lock can be taken), and the staging
/// folders earlier versions left inside the output folder.
fn remove_stale(out: &Path, parent: &Path, prefix: &str) {
    if let Ok(entries) = fs::read_dir(parent) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            if !name.to_string_lossy().starts_with(prefix) {
                continue;
            }
            let dir = entry.path();
            let dead = match File::open(dir.join(LOCK_FILE)) {
                Ok(f) => f.try_lock().is_ok(),
                // No lock file: killed between creating the folder and the lock.
                Err(e) => e.kind() == io::ErrorKind::NotFound,
            };
            if dead {
                let _ = fs::remove_dir_all(&dir);
            }
        }
    }
    if let Ok(entries) = fs::read_dir(out) {
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(LEGACY_PREFIX)
            {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
}

impl Staging {
    /// Create the output folder if needed, remove stale staging folders, and open a new one.
    pub fn new(out: &Path) -> Result<Staging, OutputError> {
        let (out, parent, prefix) = prepare(out)?;
        remove_stale(&out, &parent, &prefix);
        let dir = parent.join(format!("{prefix}{}", std::process::id()));
        let mut live = live();
        // A folder of our own pid is from an earlier Staging in this process, or from a dead
        // process that had the same pid: either way not in use.
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).map_err(|e| {
            err(
                &dir,
                format!("cannot create a staging folder beside the output folder: {e}"),
            )
        })?;
        live.push(dir.clone());
        let lock = File::create(dir.join(LOCK_FILE))
            .and_then(|f| f.lock().map(|()| f))
            .map_err(|e| err(&dir, format!("cannot lock the staging folder: {e}")))?;
        Ok(Staging {
            out,
            dir,
            _lock: lock,
        })
    }

    /// Where a file (a relative path, possibly in a subfolder) is staged.
    pub fn path(&self, name: &str) -> Result<PathBuf, OutputError> {
        let path = self.dir.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| err(parent, e))?;
        }
        Ok(path)
    }

    /// A folder of outputs, staged (empty) under `name`; moved in whole by
    /// [`Staging::commit`], replacing the output folder's `name` with everything in it.
    pub fn folder(&self, name: &str) -> Result<PathBuf, OutputError> {
        let path = self.dir.join(name);
        fs::create_dir_all(&path).map_err(|e| err(&path, format!("cannot create: {e}")))?;
        Ok(path)
    }

    /// Move the staged files into the output folder and remove `obsolete` there (files of
    /// the output set this run did not write: a stale patient list must not sit beside
    /// suppressed aggregates). Runs under the commit lock, so an interrupt waits for it.
    pub fn commit(self, written: &[&str], obsolete: &[&str]) -> Result<Vec<PathBuf>, OutputError> {
        let _live = live();
        let mut done = Vec::new();
        for name in written {
            let dest = self.out.join(name);
            if let Some(parent) = dest.parent() {
                fs::create_dir_all(parent).map_err(|e| err(parent, e))?;
            }
            replace(&self.dir.join(name), &dest, &self.dir)?;
            done.push(dest);
        }
        for name in obsolete {
            let stale = self.out.join(name);
            let gone = if stale.is_dir() {
                fs::remove_dir_all(&stale)
            } else {
                fs::remove_file(&stale)
            };
            match gone {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(err(&stale, format!("cannot remove the stale output: {e}")))
                }
                _ => {}
            }
        }
        Ok(done)
    }
}

/// Rename a staged file or folder over its destination. A folder is replaced whole: the old
/// one is first moved into the staging folder (removed with it), so the destination holds the
/// old folder or the new one, and at no moment a mixture.
fn replace(from: &Path, to: &Path, staging: &Path) -> Result<(), OutputError> {
    if from.is_dir() && to.exists() {
        let aside = staging.join(".replaced");
        let _ = fs::remove_dir_all(&aside);
        fs::rename(to, &aside)
            .map_err(|e| err(to, format!("cannot move the old folder aside: {e}")))?;
    }
    fs::rename(from, to).map_err(|e| err(to, format!("cannot move the result into place: {e}")))
}

impl Drop for Staging {
    fn drop(&mut self) {
        let mut live = live();
        live.retain(|d| d != &self.dir);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `abandon_all` removes every staging folder of the process, so these tests take turns.
    static TURN: Mutex<()> = Mutex::new(());
    fn turn() -> MutexGuard<'static, ()> {
        TURN.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[test]
    fn staging_is_beside_the_output_folder_and_gone_after_commit() {
        let _turn = turn();
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("results");
        let s = Staging::new(&out).unwrap();
        let staged = s.path("a.csv").unwrap();
        assert_eq!(
            staged.parent().unwrap().parent().unwrap(),
            fs::canonicalize(root.path()).unwrap()
        );
        fs::write(&staged, "x").unwrap();
        let done = s.commit(&["a.csv"], &["b.csv"]).unwrap();
        assert_eq!(done.len(), 1);
        let names: Vec<_> = fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("results")]);
        assert_eq!(fs::read_to_string(out.join("a.csv")).unwrap(), "x");
    }

    #[test]
    fn a_dropped_staging_leaves_nothing() {
        let _turn = turn();
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("results");
        let s = Staging::new(&out).unwrap();
        fs::write(s.path("patients.csv").unwrap(), "secret").unwrap();
        drop(s);
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 1);
        assert_eq!(fs::read_dir(&out).unwrap().count(), 0);
    }

    #[test]
    fn stale_staging_of_dead_runs_is_removed_and_live_staging_kept() {
        let _turn = turn();
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("results");
        fs::create_dir(&out).unwrap();
        // A dead run: a staging folder whose lock nobody holds, and one without a lock file.
        let dead = root.path().join(".results.rxscan-staging-999999");
        fs::create_dir(&dead).unwrap();
        fs::write(dead.join(LOCK_FILE), "").unwrap();
        fs::write(dead.join("patients.csv"), "secret").unwrap();
        let half = root.path().join(".results.rxscan-staging-999998");
        fs::create_dir(&half).unwrap();
        // A live run: its lock is held.
        let alive = root.path().join(".results.rxscan-staging-999997");
        fs::create_dir(&alive).unwrap();
        let held = File::create(alive.join(LOCK_FILE)).unwrap();
        held.lock().unwrap();
        // A legacy staging folder inside the output folder.
        let legacy = out.join(".rxscan-tmp-12345");
        fs::create_dir(&legacy).unwrap();
        fs::write(legacy.join("patients.csv"), "secret").unwrap();
        // Another folder's staging is not ours to touch.
        let other = root.path().join(".other.rxscan-staging-999996");
        fs::create_dir(&other).unwrap();

        let s = Staging::new(&out).unwrap();
        assert!(!dead.exists());
        assert!(!half.exists());
        assert!(!legacy.exists());
        assert!(alive.exists());
        assert!(other.exists());
        drop(s);
    }

    #[test]
    fn abandon_removes_open_staging() {
        let _turn = turn();
        let root = tempfile::tempdir().unwrap();
        let s = Staging::new(&root.path().join("results")).unwrap();
        let dir = s.dir.clone();
        assert!(dir.exists());
        drop(abandon_all());
        assert!(!dir.exists());
        drop(s);
    }
}
