//! Rule packs: one on disk, or the PINCER pack compiled into the library, so that a program
//! built on it (the `rxscan` binary) works from any folder.
//!
//! The built-in pack is `rules/pincer` as it was when the library was built; its files are
//! named `<built-in>/pincer/...` in diagnostics and documentation, and its codelists are read
//! from the library's copy through [`PackFiles`]. `build.rs` makes cargo rebuild when any file
//! under `rules/pincer` changes (the macro alone would not notice). The pack is data, not code:
//! nothing in Rust knows what its measures are.

use std::path::{Component, Path, PathBuf};

use include_dir::{include_dir, Dir};

use crate::compile::{self, CompileError, CompileOptions, Compiled, PackFiles};

/// Where a scan's rules come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pack {
    /// The PINCER pack built into the library.
    BuiltinPincer,
    /// A folder of rule files (`*.rx`, searched recursively) and the codelists they name.
    Dir(PathBuf),
}

impl Pack {
    /// The pack as a person reads its name.
    pub fn name(&self) -> String {
        match self {
            Pack::BuiltinPincer => format!(
                "the PINCER pack built into rxscan {} ({ROOT})",
                env!("CARGO_PKG_VERSION")
            ),
            Pack::Dir(dir) => dir.display().to_string(),
        }
    }

    /// Compile the pack.
    /// A SHA-256 over every file of the pack (rules, codelists and anything else in its
    /// folder), each as its path relative to the pack and its bytes, in path order: the same
    /// pack on another machine gives the same hash, and any edit changes it.
    pub fn fingerprint(&self) -> std::io::Result<String> {
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        match self {
            Pack::BuiltinPincer => all_files(&PINCER, &mut files),
            Pack::Dir(dir) => walk(dir, dir, &mut files)?,
        }
        files.sort();
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        for (path, bytes) in &files {
            h.update((path.len() as u64).to_le_bytes());
            h.update(path.as_bytes());
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        }
        Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn compile(&self, opts: &CompileOptions) -> Result<Compiled, CompileError> {
        match self {
            Pack::BuiltinPincer => compile::compile_pack(Builtin::rule_files(), &Builtin, opts),
            Pack::Dir(dir) => compile::compile_dir(dir, opts),
        }
    }

    /// The pack's test files (`tests/*.toml`, for `rxscan test`), by path, with their text, in
    /// path order; none when the pack has no `tests` folder. An error names the path.
    pub fn test_files(&self) -> Result<Vec<(PathBuf, String)>, (PathBuf, std::io::Error)> {
        let mut out = Vec::new();
        match self {
            Pack::BuiltinPincer => {
                for f in PINCER
                    .get_dir("tests")
                    .map(|d| d.files())
                    .into_iter()
                    .flatten()
                {
                    if let (true, Some(text)) = (is_test_file(f.path()), f.contents_utf8()) {
                        out.push((Path::new(ROOT).join(f.path()), text.to_string()));
                    }
                }
            }
            Pack::Dir(dir) => {
                let tests = dir.join("tests");
                if !tests.is_dir() {
                    return Ok(out);
                }
                let entries = std::fs::read_dir(&tests).map_err(|e| (tests.clone(), e))?;
                for entry in entries {
                    let path = entry.map_err(|e| (tests.clone(), e))?.path();
                    if is_test_file(&path) && path.is_file() {
                        let text = std::fs::read_to_string(&path).map_err(|e| (path.clone(), e))?;
                        out.push((path, text));
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

fn is_test_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "toml")
}

static PINCER: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../rules/pincer");

/// The root every built-in file path starts with.
pub const ROOT: &str = "<built-in>/pincer";

/// The built-in pack's files, read from the library's copy.
pub struct Builtin;

impl Builtin {
    /// Every rule file (`*.rx`), by path, with its text.
    pub fn rule_files() -> Vec<(PathBuf, String)> {
        let mut out = Vec::new();
        collect(&PINCER, &mut out);
        out.sort();
        out
    }

    /// The codelist files by file name, for the synthetic-data generator.
    pub fn codelist_files() -> Vec<(String, String)> {
        PINCER
            .get_dir("codelists")
            .map(|d| {
                d.files()
                    .filter_map(|f| {
                        let name = f.path().file_name()?.to_string_lossy().to_string();
                        Some((name, f.contents_utf8()?.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Every file of the built-in pack, by its path in the pack.
fn all_files(dir: &Dir<'static>, out: &mut Vec<(String, Vec<u8>)>) {
    for f in dir.files() {
        let path = f.path().to_string_lossy().replace('\\', "/");
        out.push((path, f.contents().to_vec()));
    }
    for d in dir.dirs() {
        all_files(d, out);
    }
}

/// Every file under `dir`, by its path relative to `root` (`/`-separated).
fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(root, &path, out)?;
        } else {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push((rel.join("/"), std::fs::read(&path)?));
        }
    }
    Ok(())
}

fn collect(dir: &Dir<'static>, out: &mut Vec<(PathBuf, String)>) {
    for f in dir.files() {
        if f.path().extension().is_some_and(|e| e == "rx") {
            if let Some(text) = f.contents_utf8() {
                out.push((Path::new(ROOT).join(f.path()), text.to_string()));
            }
        }
    }
    for d in dir.dirs() {
        collect(d, out);
    }
}

impl PackFiles for Builtin {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        let not_found = || {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} is not a file of the built-in pack", path.display()),
            )
        };
        let rel = path.strip_prefix(ROOT).map_err(|_| not_found())?;
        // Resolve `..` and `.` against the pack's root (rule files name codelists relatively).
        let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
        for c in rel.components() {
            match c {
                Component::Normal(p) => parts.push(p),
                Component::ParentDir => {
                    parts.pop().ok_or_else(not_found)?;
                }
                Component::CurDir => {}
                _ => return Err(not_found()),
            }
        }
        let rel: PathBuf = parts.iter().collect();
        PINCER
            .get_file(&rel)
            .map(|f| f.contents().to_vec())
            .ok_or_else(not_found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_pack_hashes_as_its_folder_does() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/pincer");
        let built_in = Pack::BuiltinPincer.fingerprint().expect("hash");
        assert_eq!(built_in.len(), 64);
        assert_eq!(Pack::Dir(dir).fingerprint().expect("hash"), built_in);
        let copy = tempfile_copy();
        let before = Pack::Dir(copy.clone()).fingerprint().expect("hash");
        assert_eq!(before, built_in, "the same files elsewhere hash the same");
        std::fs::write(copy.join("common.rx"), "# edited\n").expect("write");
        assert_ne!(Pack::Dir(copy.clone()).fingerprint().expect("hash"), before);
        let _ = std::fs::remove_dir_all(copy);
    }

    /// A copy of the built-in pack in a fresh folder.
    fn tempfile_copy() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rxscan-pack-hash-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut files = Vec::new();
        all_files(&PINCER, &mut files);
        for (path, bytes) in files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, bytes).expect("write");
        }
        dir
    }

    #[test]
    fn the_built_in_pack_has_its_rules_and_codelists() {
        let rules = Builtin::rule_files();
        assert!(rules.iter().any(|(p, _)| p.ends_with("measures/01-a.rx")));
        assert_eq!(
            rules.len(),
            17,
            "codelists, common, composites and 14 measures"
        );
        assert_eq!(Builtin::codelist_files().len(), 24);
        let nsaid = Builtin
            .read(&Path::new(ROOT).join("measures/../codelists/pincer-nsaid.csv"))
            .unwrap();
        assert!(nsaid.starts_with(b"id,"));
        assert!(Builtin
            .read(Path::new("rules/pincer/codelists.rx"))
            .is_err());
        assert!(Builtin.read(&Path::new(ROOT).join("../x")).is_err());
        // The pack's tests travel with it (rxscan test without --rules).
        let tests = Pack::BuiltinPincer.test_files().unwrap();
        assert_eq!(tests.len(), 14, "one file per boundary folder");
        assert!(tests[0].0.starts_with(ROOT) && tests[0].0.ends_with("tests/a.toml"));
    }
}
