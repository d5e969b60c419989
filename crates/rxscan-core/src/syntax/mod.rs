//! Stage 1: rule text to syntax tree.
//!
//! A hand-written lexer and recursive-descent parser. The language is small, and a hand parser
//! gives exact spans and error messages that name what was expected, which a generated parser
//! makes hard. The parser never stops at the first error: it skips to the next top-level
//! keyword and goes on, so one run reports every syntax error in every file. Nesting depth is
//! bounded so a pathological file cannot overflow the stack.

pub mod ast;
pub mod lexer;
pub mod parser;

pub use ast::*;
pub use parser::parse_file;
