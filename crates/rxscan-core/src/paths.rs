//! Paths a caller was given, checked before any work starts, so that a typo is named at once
//! ("no such folder") rather than as whatever the first read of it fails with.
//!
//! Messages name the path only; a command line puts its flag in front (`--data nope: no such
//! folder`), so the library speaks no flag names.

use std::path::{Path, PathBuf};

/// Why a given path cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("{}: no such folder", .0.display())]
    NoSuchFolder(PathBuf),
    #[error("{}: not a folder", .0.display())]
    NotAFolder(PathBuf),
    #[error("{}: no such file", .0.display())]
    NoSuchFile(PathBuf),
    /// An output folder's path is taken by something else (a file).
    #[error("{}: exists and is not a folder", .0.display())]
    NotAnOutputFolder(PathBuf),
}

/// `dir`, if it is an existing folder.
pub fn folder(dir: &Path) -> Result<&Path, PathError> {
    if !dir.exists() {
        return Err(PathError::NoSuchFolder(dir.to_path_buf()));
    }
    if !dir.is_dir() {
        return Err(PathError::NotAFolder(dir.to_path_buf()));
    }
    Ok(dir)
}

/// `path`, if it is an existing file (a folder is not).
pub fn file(path: &Path) -> Result<&Path, PathError> {
    match path.is_file() {
        true => Ok(path),
        false => Err(PathError::NoSuchFile(path.to_path_buf())),
    }
}

/// `dir`, if it can become an output folder: a folder, or nothing yet (created when written).
pub fn output_folder(dir: &Path) -> Result<&Path, PathError> {
    match dir.exists() && !dir.is_dir() {
        true => Err(PathError::NotAnOutputFolder(dir.to_path_buf())),
        false => Ok(dir),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_path_is_checked_and_named() {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, file_path) = (tmp.path(), tmp.path().join("a.toml"));
        let missing = tmp.path().join("nope");
        std::fs::write(&file_path, "x").unwrap();
        assert_eq!(folder(dir), Ok(dir));
        assert_eq!(
            folder(&missing),
            Err(PathError::NoSuchFolder(missing.clone()))
        );
        assert_eq!(
            folder(&file_path),
            Err(PathError::NotAFolder(file_path.clone()))
        );
        assert_eq!(file(&file_path), Ok(file_path.as_path()));
        assert_eq!(file(dir), Err(PathError::NoSuchFile(dir.to_path_buf())));
        assert_eq!(output_folder(dir), Ok(dir));
        assert_eq!(output_folder(&missing), Ok(missing.as_path()));
        assert_eq!(
            output_folder(&file_path).unwrap_err().to_string(),
            format!("{}: exists and is not a folder", file_path.display())
        );
        assert_eq!(
            folder(Path::new("nope")).unwrap_err().to_string(),
            "nope: no such folder"
        );
    }
}
