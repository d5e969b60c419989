//! `rxscan test`: a pack's own tests, hand-made patients with the outcome each must get
//! (what ehrQL's `assure` and ruff's fixtures give their users).
//!
//! A pack may hold test files next to its rules, `tests/*.toml`: each a few patients (their
//! rows in the four tables, written compactly, dates absolute or relative to the index date)
//! and, per patient, the outcome of some measures at the patient's index date (`numerator`,
//! `denominator` or `excluded`) and optionally the practice the patient is attributed to.
//! The format is documented in the README ("Testing rules").
//!
//! Tests run through the real [`Scan`] façade and nothing else: each file's patients are
//! written as an ordinary extract (CSV, `tables.rs`) into a temporary folder, loaded with the
//! normal loader and evaluated by the normal evaluator, so a test exercises exactly what a
//! scan does (the loader's sex spellings and date checks included). There is no second
//! evaluator. A failure comes with `rxscan why`'s tree for the patient and measure
//! ([`crate::output::why::tree`], on the same extract).
//!
//! | file | does |
//! |---|---|
//! | `mod.rs` | the model of a test file, finding a pack's test files, running them |
//! | `format/` | reading one TOML file, with a diagnostic (code, caret) for every mistake (`rows.rs`: a patient's lists) |
//! | `when.rs` | absolute and relative dates (`I-3m-1d`) |
//! | `tables.rs` | the patients as the four CSV tables of an extract |
//! | `report.rs` | the outcome of a run, and its text |

mod format;
mod report;
mod tables;
mod when;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

pub use report::{Failure, FileSummary, Report};
pub use tables::write_extract;
pub use when::{Step, When};

use crate::compile::CompileOptions;
use crate::dates::{self, Day};
use crate::diagnostics::{Diagnostic, Severity, SourceMap, Span};
use crate::error::Error;
use crate::eval::EvalOptions;
use crate::packs::Pack;
use crate::plan::Plan;
use crate::scan::{IndexDates, Scan};

/// What a patient must give for one measure at the index date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// In the numerator (and so in the denominator).
    Numerator,
    /// In the denominator, not in the numerator.
    Denominator,
    /// Not in the denominator.
    Excluded,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Numerator => "numerator",
            Outcome::Denominator => "denominator",
            Outcome::Excluded => "excluded",
        }
    }
}

/// One expected outcome, where it is written.
#[derive(Debug, Clone)]
pub struct Expectation {
    pub measure: String,
    pub outcome: Outcome,
    pub span: Span,
}

/// A practice registration (`end`: `None` is ongoing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub start: Day,
    pub end: Option<Day>,
    pub practice: String,
}

/// A row of an event table; `value` and `comparator` as written (empty: none). Medications
/// use only the date and the code.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub date: Day,
    pub code: String,
    pub value: String,
    pub comparator: String,
}

/// One hand-made patient, every date resolved at its index date.
#[derive(Debug, Clone)]
pub struct TestPatient {
    pub id: i64,
    /// What the case is, in the author's words.
    pub case: String,
    /// The `[[patient]]` header.
    pub span: Span,
    pub index_date: Day,
    pub born: Day,
    /// As written: the loader decides what it means.
    pub sex: String,
    pub died: Option<Day>,
    pub registrations: Vec<Registration>,
    /// (date, dm+d code), in the order written.
    pub medications: Vec<(Day, String)>,
    pub clinical_events: Vec<Event>,
    pub expect: Vec<Expectation>,
    /// The practice the patient must be attributed to at the index date.
    pub expect_practice: Option<(String, Span)>,
}

/// One test file, read.
#[derive(Debug, Clone)]
pub struct TestFile {
    pub path: PathBuf,
    pub file: crate::diagnostics::FileId,
    pub patients: Vec<TestPatient>,
}

/// Every test file of a pack, read and checked against its plan.
#[derive(Debug, Clone)]
pub struct Suite {
    pub files: Vec<TestFile>,
    pub sources: SourceMap,
}

/// Why a pack's tests could not be run (as opposed to failing).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestError {
    #[error("{pack} has no test files (tests/*.toml)")]
    NoTests { pack: String },
    #[error("cannot read tests at {path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{} error(s) in the test files", diagnostics.iter().filter(|d| d.severity == Severity::Error).count())]
    Invalid {
        diagnostics: Vec<Diagnostic>,
        sources: SourceMap,
    },
    #[error("{path}: the patients do not load as an extract: {message}")]
    Load { path: PathBuf, message: String },
}

impl TestError {
    /// Human-readable text: the rendered diagnostics, or the one-line message.
    pub fn render(&self, color: bool) -> String {
        match self {
            TestError::Invalid {
                diagnostics,
                sources,
            } => format!("{}{self}\n", sources.render(diagnostics, color)),
            other => format!("error: {other}\n"),
        }
    }
}

/// Compile `pack`, read its tests and run them.
pub fn run(pack: &Pack, opts: &CompileOptions) -> Result<Report, Error> {
    let plan = pack.compile(opts)?.plan;
    let suite = read_suite(pack, &plan)?;
    run_suite(&plan, &suite)
}

/// Read every test file of `pack`, checked against `plan` (its measure ids).
pub fn read_suite(pack: &Pack, plan: &Plan) -> Result<Suite, TestError> {
    let files = pack.test_files().map_err(|(path, e)| TestError::Io {
        path,
        message: e.to_string(),
    })?;
    if files.is_empty() {
        return Err(TestError::NoTests { pack: pack.name() });
    }
    read_files(files, plan)
}

/// Read test files given as (path, text), checked against `plan` (its measure ids and
/// codelists): every problem of every file, or the suite.
pub fn read_files(files: Vec<(PathBuf, String)>, plan: &Plan) -> Result<Suite, TestError> {
    let measures: Vec<&str> = plan.measures.iter().map(|m| m.id.as_str()).collect();
    let mut sources = SourceMap::default();
    let mut diagnostics = Vec::new();
    let mut out = Vec::new();
    for (path, text) in files {
        let file = sources.add(path.clone(), text);
        if let Some(patients) = format::parse(
            file,
            sources.text(file),
            &measures,
            &plan.codelists,
            &mut diagnostics,
        ) {
            out.push(TestFile {
                path,
                file,
                patients,
            });
        }
    }
    if diagnostics.iter().any(|d| d.severity == Severity::Error) {
        return Err(TestError::Invalid {
            diagnostics,
            sources,
        });
    }
    Ok(Suite {
        files: out,
        sources,
    })
}

/// Run every file of `suite` through the real scan, and explain each failure.
pub fn run_suite(plan: &Plan, suite: &Suite) -> Result<Report, Error> {
    let mut report = Report::default();
    for f in &suite.files {
        let (summary, failures) = run_file(plan, &suite.sources, f)?;
        report.files.push(summary);
        report.failures.extend(failures);
    }
    Ok(report)
}

/// One file: its patients as an extract in a temporary folder, one scan at their index
/// dates, each expectation checked, and the why tree of each failure.
fn run_file(
    plan: &Plan,
    sources: &SourceMap,
    f: &TestFile,
) -> Result<(FileSummary, Vec<Failure>), Error> {
    let dir = tempfile::tempdir().map_err(|e| TestError::Io {
        path: std::env::temp_dir(),
        message: e.to_string(),
    })?;
    write_extract(&f.patients, dir.path()).map_err(|e| TestError::Io {
        path: dir.path().to_path_buf(),
        message: e.to_string(),
    })?;
    let dates = IndexDates::of(f.patients.iter().map(|p| p.index_date))?;
    // Every row kept, so a failure's why tree names the last row before a window however old
    // (the counts do not depend on it).
    let scan = Scan::new(plan.clone(), dates.clone()).with_all_history();
    let extract = scan.load(dir.path()).map_err(|e| TestError::Load {
        path: f.path.clone(),
        message: e
            .to_string()
            .replace(&format!("{}/", dir.path().display()), ""),
    })?;
    let results = scan.evaluate(&extract, &EvalOptions { patient_rows: true })?;
    // (date, patient id, measure id) -> (practice, numerator) for every denominator row.
    let mut got: BTreeMap<(Day, i64, &str), (&str, bool)> = BTreeMap::new();
    for r in &results.patient_rows {
        got.insert(
            (
                results.index_dates[r.date as usize],
                results.patient_ids[r.patient as usize],
                results.measures[r.measure as usize].as_str(),
            ),
            (results.practices[r.practice as usize].as_str(), r.numerator),
        );
    }
    let mut failures = Vec::new();
    let mut checked = 0;
    let failure = |p: &TestPatient, span: Span, measure: Option<&str>, expected, actual| Failure {
        file: f.path.clone(),
        line: sources.line_col(f.file, span.start).0,
        patient: p.id,
        case: p.case.clone(),
        index_date: dates::format_iso(p.index_date),
        measure: measure.map(str::to_string),
        expected,
        actual,
        why: String::new(),
    };
    // For each failure of a measure: (index date, patient id, measure index), for its why.
    let mut asks = Vec::new();
    for p in &f.patients {
        for e in &p.expect {
            checked += 1;
            let actual = match got.get(&(p.index_date, p.id, e.measure.as_str())) {
                Some((_, true)) => Outcome::Numerator,
                Some((_, false)) => Outcome::Denominator,
                None => Outcome::Excluded,
            };
            if actual != e.outcome {
                let (expected, actual) = (e.outcome.name().into(), actual.name().into());
                failures.push(failure(p, e.span, Some(&e.measure), expected, actual));
                // (A suite read against another plan may name a measure this one lacks.)
                if let Some(m) = plan.measures.iter().position(|x| x.id == e.measure) {
                    asks.push((failures.len() - 1, (p.index_date, p.id, m)));
                }
            }
        }
        if let Some((practice, span)) = &p.expect_practice {
            checked += 1;
            let actual: BTreeSet<&str> = got
                .range((p.index_date, p.id, "")..)
                .take_while(|((d, id, _), _)| (*d, *id) == (p.index_date, p.id))
                .map(|(_, (practice, _))| *practice)
                .collect();
            if actual.len() != 1 || !actual.contains(practice.as_str()) {
                let actual = match actual.into_iter().next() {
                    Some(a) => format!("practice {a}"),
                    None => "no practice (in no measure's denominator)".to_string(),
                };
                failures.push(failure(
                    p,
                    *span,
                    None,
                    format!("practice {practice}"),
                    actual,
                ));
            }
        }
    }
    // The why tree of each failing measure: `rxscan why`'s, on the same extract.
    for (i, (day, id, m)) in &asks {
        let measure = plan.measures[*m].id.as_str();
        failures[*i].why = crate::output::why::tree(&scan, &extract, *id, *day, Some(measure))?;
    }
    let summary = FileSummary {
        path: f.path.clone(),
        patients: f.patients.len(),
        expectations: checked,
    };
    Ok((summary, failures))
}
