//! Stages 2 and 3: resolve names, load codelists, check types, and lower to a [`Plan`].
//!
//! One file per phase, each below the one that uses it; imports run one way, down this list:
//!
//! | file | phase |
//! |---|---|
//! | `mod.rs` | the driver: parse every file, then declare, override, lower; the public API |
//! | `lower.rs` | each measure, the population, every definition and the composites to the plan |
//! | `calls.rs` | the walk, continued: `exists`, `coalesce` and the table methods (features) |
//! | `check.rs` | the one recursive walk: resolve names, check types, build the formula |
//! | `declare.rs` | every item into one namespace; codelist files read; `--param` applied |
//! | `codelists.rs` | reading a codelist file through [`PackFiles`] |
//! | `value.rs` | the compile-time values and types every phase shares |
//!
//! Two changes from a plain split by phase, and why. The walk's calls are a file of their own
//! (`calls.rs`, more methods of the same `Checker`): with them `check.rs` would pass 700 lines.
//! [`PackFiles`] and [`DiskFiles`] live in `codelists.rs`, their one user, and are re-exported
//! here, so that no phase imports from this driver and the driver alone sees every phase.
//!
//! Resolution is demand-driven: a `define` is resolved when first used (and memoised), which
//! makes cycle detection a matter of keeping the current chain on a stack. Every problem is
//! pushed as a [`Diagnostic`] and resolution carries on with a poisoned value, so one run
//! reports all errors of a pack. Definitions are inlined into the plan's formulas; record
//! queries are deduplicated into numbered features, so two measures that ask for "an NSAID in
//! the last three months" share one feature.

mod calls;
mod check;
mod codelists;
mod declare;
mod lower;
mod value;

use std::path::{Path, PathBuf};

use crate::diagnostics::{Diagnostic, Severity, SourceMap};
use crate::plan::Plan;
use crate::syntax;

pub use check::{MAX_DEFINE_DEPTH, MAX_FORMULA_DEPTH, MAX_FORMULA_NODES, MAX_WINDOW_YEARS};
pub use codelists::{DiskFiles, PackFiles};
pub use lower::DOC_HEADINGS;

/// Options for compilation.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// `NAME=VALUE` overrides of `param` defaults.
    pub params: Vec<(String, String)>,
    /// What the caller calls an override, in the messages about one (`param` by default).
    pub names: crate::OptionNames,
}

impl CompileOptions {
    /// Options from `NAME=VALUE` texts (as `--param` takes them; spaces around either side
    /// trimmed). Whether the name is a parameter of the pack is checked when compiling.
    pub fn from_params(texts: &[String]) -> Result<CompileOptions, ParamError> {
        let mut params = Vec::new();
        for text in texts {
            let (name, value) = text
                .split_once('=')
                .ok_or_else(|| ParamError(text.clone()))?;
            params.push((name.trim().to_string(), value.trim().to_string()));
        }
        Ok(CompileOptions {
            params,
            ..CompileOptions::default()
        })
    }
}

/// A parameter override that is not `NAME=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}: expected NAME=VALUE")]
pub struct ParamError(pub String);

/// A compiled pack, with any warnings and the sources to render them against.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub plan: Plan,
    pub warnings: Vec<Diagnostic>,
    pub sources: SourceMap,
}

/// Why a pack did not compile.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("cannot read rules at {path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("no rule files (*.rx) found under {0}")]
    NoRules(PathBuf),
    #[error("{} error(s) in the rules", diagnostics.iter().filter(|d| d.severity == Severity::Error).count())]
    Invalid {
        diagnostics: Vec<Diagnostic>,
        sources: SourceMap,
    },
}

impl CompileError {
    /// Human-readable text: the rendered diagnostics, or the I/O message.
    pub fn render(&self, color: bool) -> String {
        match self {
            CompileError::Invalid {
                diagnostics,
                sources,
            } => {
                let n = diagnostics
                    .iter()
                    .filter(|d| d.severity == Severity::Error)
                    .count();
                format!(
                    "{}{n} error(s) in the rules\n",
                    sources.render(diagnostics, color)
                )
            }
            other => format!("{other}\n"),
        }
    }
}

/// Compile every `*.rx` file under `dir` (recursively, in path order).
pub fn compile_dir(dir: &Path, opts: &CompileOptions) -> Result<Compiled, CompileError> {
    let mut files = Vec::new();
    collect_rule_files(dir, &mut files)?;
    if files.is_empty() {
        return Err(CompileError::NoRules(dir.to_path_buf()));
    }
    files.sort();
    let mut sources = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| CompileError::Io {
            path: f.clone(),
            message: e.to_string(),
        })?;
        sources.push((f, text));
    }
    compile_sources(sources, opts)
}

fn collect_rule_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CompileError> {
    let io = |e: std::io::Error| CompileError::Io {
        path: dir.to_path_buf(),
        message: e.to_string(),
    };
    if !dir.is_dir() {
        return Err(CompileError::Io {
            path: dir.to_path_buf(),
            message: "not a directory".into(),
        });
    }
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            collect_rule_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rx") {
            out.push(path);
        }
    }
    Ok(())
}

/// Compile rule files given as (path, text). Codelist paths resolve against each file's folder
/// and are read from disk.
pub fn compile_sources(
    files: Vec<(PathBuf, String)>,
    opts: &CompileOptions,
) -> Result<Compiled, CompileError> {
    compile_pack(files, &DiskFiles, opts)
}

/// Compile rule files given as (path, text), reading the codelists they name through `pack`
/// (for a pack that is not on disk, such as one compiled into a program).
pub fn compile_pack(
    files: Vec<(PathBuf, String)>,
    pack: &dyn PackFiles,
    opts: &CompileOptions,
) -> Result<Compiled, CompileError> {
    // Parsing and resolution recurse over the syntax tree. Depths are bounded, but debug builds
    // use large frames, so run on a thread whose stack comfortably holds the bounds.
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn_scoped(scope, || compile_on_this_thread(files, pack, opts))
            .map_err(|e| CompileError::Io {
                path: PathBuf::from("<compiler thread>"),
                message: e.to_string(),
            })?
            .join()
            .unwrap_or_else(|_| {
                Err(CompileError::Io {
                    path: PathBuf::from("<compiler thread>"),
                    message: "the compiler crashed".into(),
                })
            })
    })
}

fn compile_on_this_thread(
    files: Vec<(PathBuf, String)>,
    pack: &dyn PackFiles,
    opts: &CompileOptions,
) -> Result<Compiled, CompileError> {
    let mut sources = SourceMap::default();
    let mut diags = Vec::new();
    let mut items = Vec::new();
    for (path, text) in files {
        let id = sources.add(path, text);
        let parsed = syntax::parse_file(id, sources.text(id), &mut diags);
        items.extend(parsed);
    }
    let mut decls = declare::declare(items, &sources, pack, &mut diags);
    decls.apply_overrides(&opts.params, opts.names.param, &mut diags);
    let (plan, diags) = lower::lower(decls, &sources, diags);
    if diags.iter().any(|d| d.severity == Severity::Error) {
        let mut diagnostics = diags;
        diagnostics.sort_by_key(|d| (d.span.file, d.span.start, d.severity));
        return Err(CompileError::Invalid {
            diagnostics,
            sources,
        });
    }
    Ok(Compiled {
        plan,
        warnings: diags,
        sources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_name_equals_value_trimmed() {
        let texts = ["gap = 30 days".to_string(), "age=65".to_string()];
        let opts = CompileOptions::from_params(&texts).unwrap();
        assert_eq!(
            opts.params,
            [
                ("gap".into(), "30 days".into()),
                ("age".into(), "65".into())
            ]
        );
        // Only the first `=` splits: the value keeps the rest.
        let opts = CompileOptions::from_params(&["a=b=c".to_string()]).unwrap();
        assert_eq!(opts.params, [("a".into(), "b=c".into())]);
        let err = CompileOptions::from_params(&["age".to_string()]).unwrap_err();
        assert_eq!(err.to_string(), "age: expected NAME=VALUE");
    }
}
