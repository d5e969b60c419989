//! Diagnostics: every problem found in rule files, with where it is and how to fix it.
//!
//! The compiler collects diagnostics instead of returning at the first error, so a user fixing
//! a rule pack sees all of its problems in one run. Rendering goes through `ariadne`: the
//! file:line:column, the source line, a caret under the offending text and a hint.
//!
//! Every diagnostic carries a [`Code`] from the one catalogue in `codes.rs`, printed in its
//! header (`error[RX011]`) and documented in `docs/DIAGNOSTICS.md`.

mod codes;

pub(crate) use codes::{
    definition_too_large, measure_too_large, HINT_DEFINE_DOUBLES, HINT_PARAM_LITERAL,
    HINT_RECORD_DATE_ARITHMETIC, HINT_RECORD_SOURCE, HINT_WINDOW_BOUND, HINT_WINDOW_ORDER,
    MSG_RECORD_DATE_ARITHMETIC, MSG_WINDOW_BOUND, MSG_WINDOW_END_BEFORE_START,
};
pub use codes::{markdown_table, Code};

use std::fmt::Write as _;
use std::path::PathBuf;

/// A file known to the compiler, by index into [`SourceMap`].
pub type FileId = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: start as u32,
            end: end as u32,
        }
    }
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// The kind of problem, from the catalogue.
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub span: Span,
    pub label: String,
    pub hint: Option<String>,
    /// Further places that explain the error, each with its own label (e.g. where a missing
    /// `)` was expected, when the error is the `(` it fails to close).
    pub also: Vec<(Span, String)>,
}

impl Diagnostic {
    pub fn error(
        code: Code,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        Self::new(Severity::Error, code, span, message.into(), label.into())
    }
    pub fn warning(
        code: Code,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        Self::new(Severity::Warning, code, span, message.into(), label.into())
    }
    fn new(severity: Severity, code: Code, span: Span, message: String, label: String) -> Self {
        Diagnostic {
            code,
            severity,
            message,
            span,
            label,
            hint: None,
            also: Vec::new(),
        }
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    /// Label another place in the same file.
    pub fn also_at(mut self, span: Span, label: impl Into<String>) -> Self {
        self.also.push((span, label.into()));
        self
    }
}

/// The list a stage collects its diagnostics in: `diags.error(..)` pushes an error and hands it
/// back, so a hint can be set in place (`diags.error(code, span, message, label).hint = ...`).
pub(crate) trait DiagnosticsExt {
    fn error(
        &mut self,
        code: Code,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> &mut Diagnostic;
}

impl DiagnosticsExt for Vec<Diagnostic> {
    fn error(
        &mut self,
        code: Code,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> &mut Diagnostic {
        self.push(Diagnostic::error(code, span, message, label));
        self.last_mut().expect("just pushed")
    }
}

/// The text of every rule file, so diagnostics can be rendered against it.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    files: Vec<(PathBuf, String)>,
}

impl SourceMap {
    pub fn add(&mut self, path: PathBuf, text: String) -> FileId {
        self.files.push((path, text));
        (self.files.len() - 1) as FileId
    }
    pub fn path(&self, id: FileId) -> &std::path::Path {
        &self.files[id as usize].0
    }
    pub fn text(&self, id: FileId) -> &str {
        &self.files[id as usize].1
    }
    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, id: FileId, offset: u32) -> (usize, usize) {
        let text = self.text(id);
        let offset = (offset as usize).min(text.len());
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    /// Render diagnostics as text: a one-line `file:line:col: error[RX011]: message` header
    /// (easy to grep, and what editors jump to), then ariadne's source excerpt with a caret and
    /// the hint.
    pub fn render(&self, diagnostics: &[Diagnostic], color: bool) -> String {
        use ariadne::{CharSet, Config, Label, Report, ReportKind};
        let mut out = String::new();
        for d in diagnostics {
            let path = self.path(d.span.file).display().to_string();
            let (line, col) = self.line_col(d.span.file, d.span.start);
            let kind = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let code = d.code;
            let _ = writeln!(out, "{path}:{line}:{col}: {kind}[{code}]: {}", d.message);
            let report_kind = match d.severity {
                Severity::Error => ReportKind::Error,
                Severity::Warning => ReportKind::Warning,
            };
            let config = Config::default()
                .with_color(color)
                .with_char_set(CharSet::Ascii)
                .with_compact(false);
            let mut report =
                Report::build(report_kind, (path.clone(), d.span.range()))
                    .with_config(config)
                    .with_code(code)
                    .with_message(&d.message)
                    .with_label(Label::new((path.clone(), d.span.range())).with_message(&d.label))
                    .with_labels(d.also.iter().filter(|(at, _)| at.file == d.span.file).map(
                        |(at, label)| Label::new((path.clone(), at.range())).with_message(label),
                    ));
            if let Some(h) = &d.hint {
                report = report.with_help(h);
            }
            let mut buf = Vec::new();
            let source = ariadne::sources(vec![(path.clone(), self.text(d.span.file).to_string())]);
            if report.finish().write(source, &mut buf).is_ok() {
                out.push_str(&String::from_utf8_lossy(&buf));
            }
        }
        out
    }
}

/// Closest candidate by edit distance, for "did you mean" hints.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(name, c);
        if score >= 0.8 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

/// The hint "did you mean `x`?" for the candidate closest to `name`, if one is close enough.
/// Every "did you mean" of the compiler is worded here.
pub fn did_you_mean_hint<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    did_you_mean(name, candidates).map(|s| format!("did you mean `{s}`?"))
}
