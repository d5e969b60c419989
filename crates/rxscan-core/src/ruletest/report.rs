//! The outcome of running a pack's tests, and the text `rxscan test` prints.

use std::path::PathBuf;

/// One test file that ran.
#[derive(Debug, Clone)]
pub struct FileSummary {
    pub path: PathBuf,
    pub patients: usize,
    /// Expected outcomes (and practices) checked.
    pub expectations: usize,
}

/// One expectation that did not hold.
#[derive(Debug, Clone)]
pub struct Failure {
    pub file: PathBuf,
    /// 1-based line of the expectation in the test file.
    pub line: usize,
    pub patient: i64,
    pub case: String,
    pub index_date: String,
    /// The measure; `None` for an expected practice.
    pub measure: Option<String>,
    pub expected: String,
    pub actual: String,
    /// The why tree, rendered (empty for a practice).
    pub why: String,
}

/// Every file run and every failure, in file order.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub files: Vec<FileSummary>,
    pub failures: Vec<Failure>,
}

impl Report {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// Expectations checked over all files.
    pub fn expectations(&self) -> usize {
        self.files.iter().map(|f| f.expectations).sum()
    }

    /// What `rxscan test` prints: each failure (where, who, what was expected and what came
    /// out, why), one line per file, then the total.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in &self.failures {
            let what = match &f.measure {
                Some(m) => format!("measure {m}"),
                None => "practice".to_string(),
            };
            out += &format!(
                "FAIL {}:{}: patient {} at {}, {what}\n",
                f.file.display(),
                f.line,
                f.patient,
                f.index_date
            );
            if !f.case.is_empty() {
                out += &format!("  case:     {}\n", f.case);
            }
            out += &format!("  expected: {}\n  actual:   {}\n", f.expected, f.actual);
            if !f.why.is_empty() {
                out += "  why:\n";
                for line in f.why.lines() {
                    out += &format!("  {line}\n");
                }
            }
            out.push('\n');
        }
        for s in &self.files {
            let failed = self.failures.iter().filter(|f| f.file == s.path).count();
            let status = if failed == 0 { "ok  " } else { "FAIL" };
            out += &format!(
                "{status} {}: {} patients, {} expectations{}\n",
                s.path.display(),
                s.patients,
                s.expectations,
                if failed > 0 {
                    format!(", {failed} failed")
                } else {
                    String::new()
                }
            );
        }
        let n = self.expectations();
        out += &match self.failures.len() {
            0 => format!(
                "{} test files, {n} expectations: all hold\n",
                self.files.len()
            ),
            k => format!(
                "{} test files, {n} expectations: {k} failed\n",
                self.files.len()
            ),
        };
        out
    }
}
