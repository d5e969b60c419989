//! The library's one error type: each stage's error, kept whole, so a caller decides by kind
//! (the command line maps every kind to exit code 2 once) and never by inspecting text.

use crate::compile::CompileError;
use crate::eval::EvalError;
use crate::evidence::EvidenceError;
use crate::extract::ExtractError;
use crate::output::job::JobError;
use crate::output::OutputError;
use crate::ruletest::TestError;
use crate::scan::DateError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The rule pack does not compile ([`CompileError::render`] shows every diagnostic).
    #[error(transparent)]
    Rules(#[from] CompileError),
    /// The extract cannot be read, or a value in it is invalid.
    #[error(transparent)]
    Data(#[from] ExtractError),
    /// An index date is not one the library takes.
    #[error(transparent)]
    Dates(#[from] DateError),
    /// The plan cannot be evaluated at a date (a window end that is no calendar day, a date
    /// outside those the extract was loaded for).
    #[error(transparent)]
    Evaluate(#[from] EvalError),
    /// Evidence cannot be given (an unknown patient or measure, or an evaluation error).
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    /// The results cannot be written.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// A pack's tests cannot be run (`rxscan test`): none, unreadable, or malformed
    /// ([`TestError::render`] shows every diagnostic).
    #[error(transparent)]
    Tests(#[from] TestError),
    /// A whole scan ([`crate::output::job`]) stopped, or finished with practice folders missing.
    #[error(transparent)]
    Job(#[from] JobError),
}

impl Error {
    /// The text to show a person: for rules, every diagnostic rendered against its source.
    pub fn render(&self, color: bool) -> String {
        match self {
            Error::Rules(e) => e.render(color),
            Error::Tests(e) => e.render(color),
            Error::Data(ExtractError::Mapping(m)) => m.render(color),
            other => format!("error: {other}\n"),
        }
    }

    /// The diagnostics this error carries, rendered against their sources (rules that do not
    /// compile, malformed test files, a malformed mapping: each `file:line:col: error[RX..]:`),
    /// or `None` for an error that is one sentence.
    pub fn diagnostics(&self, color: bool) -> Option<String> {
        match self {
            Error::Rules(CompileError::Invalid { .. })
            | Error::Tests(TestError::Invalid { .. })
            | Error::Data(ExtractError::Mapping(_)) => Some(self.render(color)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::Mapping;

    #[test]
    fn only_errors_with_diagnostics_render_them() {
        let mapping = Mapping::parse("m.toml".into(), "[patients\n".into()).unwrap_err();
        let text = Error::from(ExtractError::from(mapping)).diagnostics(false);
        assert!(text.is_some_and(|t| t.starts_with("m.toml:1:")));
        let dates = Error::from(crate::scan::DateError::Empty);
        assert_eq!(dates.diagnostics(false), None);
        let no_rules = Error::from(CompileError::NoRules("r".into()));
        assert_eq!(no_rules.diagnostics(false), None);
    }
}
