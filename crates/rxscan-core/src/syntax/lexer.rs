//! Tokens. Comments run from `#` to the end of the line. Strings are `"..."` with `\"`, `\\`,
//! `\n` escapes, or `"""..."""` raw blocks (used for measure documentation).

use crate::diagnostics::{Code, Diagnostic, FileId, Span};

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    Number(f64),
    Str(String),
    Eq,
    EqEq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Dot,
    DotDot,
    Colon,
    Eof,
}

impl Tok {
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Number(n) => format!("number `{n}`"),
            Tok::Str(_) => "a string".into(),
            Tok::Eof => "end of file".into(),
            other => format!("`{}`", other.symbol()),
        }
    }
    fn symbol(&self) -> &'static str {
        match self {
            Tok::Eq => "=",
            Tok::EqEq => "==",
            Tok::Ne => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::Comma => ",",
            Tok::Dot => ".",
            Tok::DotDot => "..",
            Tok::Colon => ":",
            _ => "?",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

/// Split a file into tokens. Lexical errors are collected; the bad character is skipped.
pub fn lex(file: FileId, src: &str, diags: &mut Vec<Diagnostic>) -> Vec<Token> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let single = |t: Tok| Some((t, 1));
        let two = |next: u8, t2: Tok, t1: Tok| {
            if bytes.get(i + 1) == Some(&next) {
                Some((t2, 2))
            } else {
                Some((t1, 1))
            }
        };
        let punct = match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'=' => two(b'=', Tok::EqEq, Tok::Eq),
            b'<' => two(b'=', Tok::Le, Tok::Lt),
            b'>' => two(b'=', Tok::Ge, Tok::Gt),
            b'!' if bytes.get(i + 1) == Some(&b'=') => Some((Tok::Ne, 2)),
            b'+' => single(Tok::Plus),
            b'-' => single(Tok::Minus),
            b'(' => single(Tok::LParen),
            b')' => single(Tok::RParen),
            b'[' => single(Tok::LBracket),
            b']' => single(Tok::RBracket),
            b'{' => single(Tok::LBrace),
            b'}' => single(Tok::RBrace),
            b',' => single(Tok::Comma),
            b':' => single(Tok::Colon),
            b'.' => two(b'.', Tok::DotDot, Tok::Dot),
            _ => None,
        };
        if let Some((tok, len)) = punct {
            i += len;
            out.push(Token {
                tok,
                span: Span::new(file, start, i),
            });
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Ident(src[start..i].to_string()),
                span: Span::new(file, start, i),
            });
            continue;
        }
        if c.is_ascii_digit() {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(|b| b.is_ascii_digit()) {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
            }
            let text = &src[start..i];
            let span = Span::new(file, start, i);
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() => out.push(Token {
                    tok: Tok::Number(v),
                    span,
                }),
                _ => diags.push(Diagnostic::error(
                    Code::NumberOutOfRange,
                    span,
                    format!("number `{text}` is out of range"),
                    "too large",
                )),
            }
            continue;
        }
        if c == b'"' {
            if src[i..].starts_with("\"\"\"") {
                match src[i + 3..].find("\"\"\"") {
                    Some(end) => {
                        let body = &src[i + 3..i + 3 + end];
                        i += 3 + end + 3;
                        out.push(Token {
                            tok: Tok::Str(dedent(body)),
                            span: Span::new(file, start, i),
                        });
                    }
                    None => {
                        diags.push(
                            Diagnostic::error(
                                Code::UnterminatedBlock,
                                Span::new(file, start, start + 3),
                                "unterminated `\"\"\"` block",
                                "this block is never closed",
                            )
                            .with_hint("close it with `\"\"\"`"),
                        );
                        i = bytes.len();
                    }
                }
                continue;
            }
            i += 1;
            let mut s = String::new();
            let mut closed = false;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => {
                        i += 1;
                        closed = true;
                        break;
                    }
                    b'\n' => break,
                    b'\\' => {
                        // The escaped character may be several bytes long (`\é`).
                        let esc = src[i + 1..].chars().next();
                        let len = 1 + esc.map_or(0, char::len_utf8);
                        match esc {
                            Some('"') => s.push('"'),
                            Some('\\') => s.push('\\'),
                            Some('n') => s.push('\n'),
                            _ => diags.push(Diagnostic::error(
                                Code::UnknownEscape,
                                Span::new(file, i, i + len),
                                "unknown escape in string",
                                "only \\\" \\\\ and \\n are allowed",
                            )),
                        }
                        i += len;
                    }
                    _ => {
                        let ch = src[i..].chars().next().unwrap_or(' ');
                        s.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            if !closed {
                diags.push(
                    Diagnostic::error(
                        Code::UnterminatedString,
                        Span::new(file, start, i),
                        "unterminated string",
                        "this string is never closed",
                    )
                    .with_hint("strings end with `\"` on the same line"),
                );
            }
            out.push(Token {
                tok: Tok::Str(s),
                span: Span::new(file, start, i),
            });
            continue;
        }
        let ch = src[i..].chars().next().unwrap_or(' ');
        let end = i + ch.len_utf8();
        diags.push(Diagnostic::error(
            Code::UnexpectedCharacter,
            Span::new(file, i, end),
            format!("unexpected character `{ch}`"),
            "not part of the rule language",
        ));
        i = end;
    }
    out.push(Token {
        tok: Tok::Eof,
        span: Span::new(file, bytes.len(), bytes.len()),
    });
    out
}

/// Remove the common leading indentation of a `"""` block and its first and last blank lines.
fn dedent(body: &str) -> String {
    let lines: Vec<&str> = body.lines().collect();
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out: Vec<&str> = lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or_else(|| l.trim_start()))
        .collect();
    while out.first().is_some_and(|l| l.trim().is_empty()) {
        out.remove(0);
    }
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    out.join("\n")
}
