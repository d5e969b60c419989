//! Recursive-descent parser with error recovery at item boundaries.
//!
//! Grammar (informal):
//! ```text
//! file       = item*
//! item       = "codelist" NAME "=" SYSTEM "(" STRING ["," "column" ":" STRING] ")"
//!            | "param" NAME "=" expr
//!            | "define" NAME "=" expr
//!            | "population" "=" expr
//!            | "measure" NAME "{" (NAME "=" expr)* "}"
//!            | "composite" NAME "=" "[" NAME ("," NAME)* "]"
//! expr       = or
//! or         = and ("or" and)*
//! and        = not ("and" not)*
//! not        = "not" not | compare
//! compare    = additive [("==" | "!=" | "<" | "<=" | ">" | ">=") additive
//!                        | ["not"] "in" "(" expr ("," expr)* ")"]
//! additive   = unary (("+" | "-") unary)*
//! unary      = "-" unary | postfix
//! postfix    = primary ("." NAME ["(" args ")"])*
//! primary    = NUMBER [UNIT] | STRING | "true" | "false" | NAME ["(" args ")"]
//!            | "(" expr ")" | "[" (expr | "..") "," (expr | "..") "]"
//! ```

use super::ast::*;
use super::lexer::{lex, Tok, Token};
use crate::diagnostics::{Code, Diagnostic, FileId, Span};

/// What the parser expects inside `measure { ... }`.
const EXPECTED_MEASURE_FIELD: &str =
    "a field name (`primis`, `title`, `denominator`, `numerator`, `doc`) or `}`";

/// Deepest expression nesting accepted; deeper input is rejected with a diagnostic rather
/// than risking the stack.
pub const MAX_DEPTH: usize = 64;

const ITEM_KEYWORDS: &[&str] = &[
    "codelist",
    "param",
    "define",
    "population",
    "measure",
    "composite",
];

/// Parse one rule file. Syntax errors go to `diags`; the items that parsed are returned.
pub fn parse_file(file: FileId, src: &str, diags: &mut Vec<Diagnostic>) -> Vec<Item> {
    let tokens = lex(file, src, diags);
    let mut p = Parser {
        tokens,
        pos: 0,
        diags,
        depth: 0,
    };
    let mut items = Vec::new();
    while !p.at_eof() {
        match p.item() {
            Ok(item) => items.push(item),
            Err(()) => p.recover(),
        }
    }
    items
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    diags: &'a mut Vec<Diagnostic>,
    depth: usize,
}

type PResult<T> = Result<T, ()>;

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.tokens[self.pos].tok
    }
    fn peek_at(&self, n: usize) -> &Tok {
        &self.tokens[(self.pos + n).min(self.tokens.len() - 1)].tok
    }
    fn span(&self) -> Span {
        self.tokens[self.pos].span
    }
    fn prev_span(&self) -> Span {
        self.tokens[self.pos.saturating_sub(1)].span
    }
    fn at_eof(&self) -> bool {
        matches!(self.peek(), Tok::Eof)
    }
    fn bump(&mut self) -> Token {
        let t = self.tokens[self.pos].clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        t
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s == kw)
    }
    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == t {
            self.bump();
            true
        } else {
            false
        }
    }
    fn error_here<T>(&mut self, expected: &str) -> PResult<T> {
        let found = self.peek().describe();
        let span = self.span();
        self.diags.push(Diagnostic::error(
            Code::UnexpectedToken,
            span,
            format!("expected {expected}, found {found}"),
            format!("expected {expected}"),
        ));
        Err(())
    }
    fn expect(&mut self, t: Tok, what: &str) -> PResult<Span> {
        if self.peek() == &t {
            Ok(self.bump().span)
        } else {
            self.error_here(what)
        }
    }
    /// The `)` closing the `(` at `open`. When it is missing, the error points at the `(` it
    /// fails to close (where the mistake usually is), and also at what was found instead.
    fn close_paren(&mut self, open: Span, expected: &str) -> PResult<Span> {
        if self.peek() == &Tok::RParen {
            return Ok(self.bump().span);
        }
        let found = self.peek().describe();
        let here = self.span();
        self.diags.push(
            Diagnostic::error(
                Code::UnclosedParen,
                open,
                format!("unclosed `(`: expected {expected}, found {found}"),
                "this `(` is not closed",
            )
            .also_at(here, format!("expected {expected} here")),
        );
        Err(())
    }
    fn ident(&mut self, what: &str) -> PResult<Ident> {
        if let Tok::Ident(name) = self.peek().clone() {
            let span = self.bump().span;
            Ok(Ident { name, span })
        } else {
            self.error_here(what)
        }
    }
    fn string(&mut self, what: &str) -> PResult<(String, Span)> {
        if let Tok::Str(s) = self.peek().clone() {
            let span = self.bump().span;
            Ok((s, span))
        } else {
            self.error_here(what)
        }
    }

    /// Skip to the next token that starts an item (at the start of a line's worth of tokens).
    fn recover(&mut self) {
        let at_item = matches!(self.peek(), Tok::Ident(s) if ITEM_KEYWORDS.contains(&s.as_str()))
            && self.is_item_start();
        if !at_item {
            self.bump();
        }
        while !self.at_eof() {
            if let Tok::Ident(s) = self.peek() {
                if ITEM_KEYWORDS.contains(&s.as_str()) && self.is_item_start() {
                    return;
                }
            }
            self.bump();
        }
    }
    /// An item keyword followed by a name or `=` (so `define` used as a name in an
    /// expression is not mistaken for a new item).
    fn is_item_start(&self) -> bool {
        matches!(self.peek_at(1), Tok::Ident(_) | Tok::Eq)
    }

    fn item(&mut self) -> PResult<Item> {
        let start = self.span();
        let kw = match self.peek() {
            Tok::Ident(s) if ITEM_KEYWORDS.contains(&s.as_str()) => s.clone(),
            _ => {
                return self.error_here(
                    "`codelist`, `param`, `define`, `population`, `measure` or `composite`",
                )
            }
        };
        self.bump();
        match kw.as_str() {
            "codelist" => {
                let name = self.ident("a codelist name")?;
                self.expect(Tok::Eq, "`=`")?;
                let system = self.ident("`dmd` or `snomedct`")?;
                let open = self.expect(Tok::LParen, "`(`")?;
                let path = self.string("the codelist file path as a string")?;
                let mut column = None;
                if self.eat(&Tok::Comma) {
                    let key = self.ident("`column`")?;
                    if key.name != "column" {
                        self.diags.push(Diagnostic::error(
                            Code::UnknownCodelistOption,
                            key.span,
                            format!("unknown codelist option `{}`", key.name),
                            "expected `column`",
                        ));
                        return Err(());
                    }
                    self.expect(Tok::Colon, "`:`")?;
                    column = Some(self.string("the code column name as a string")?);
                }
                self.close_paren(open, "`)`")?;
                Ok(Item::Codelist {
                    name,
                    system,
                    path,
                    column,
                    span: start.to(self.prev_span()),
                })
            }
            "param" | "define" => {
                let name = self.ident("a name")?;
                let value = match self.expect(Tok::Eq, "`=`").and_then(|_| self.expr()) {
                    Ok(value) => value,
                    Err(()) => {
                        // The name is still declared, with a value that is already reported,
                        // so its uses do not cascade into "unknown name" errors.
                        self.recover();
                        Expr {
                            kind: ExprKind::Invalid,
                            span: name.span,
                        }
                    }
                };
                Ok(if kw == "param" {
                    Item::Param { name, value }
                } else {
                    Item::Define { name, value }
                })
            }
            "population" => {
                self.expect(Tok::Eq, "`=`")?;
                let value = self.expr()?;
                Ok(Item::Population {
                    value,
                    span: start.to(self.prev_span()),
                })
            }
            "measure" => {
                let id = self.ident("a measure id")?;
                self.expect(Tok::LBrace, "`{`")?;
                let mut fields = Vec::new();
                while !self.eat(&Tok::RBrace) {
                    if self.at_eof() {
                        return self.error_here("`}` closing the measure");
                    }
                    let key = self.ident(EXPECTED_MEASURE_FIELD)?;
                    self.expect(Tok::Eq, "`=`")?;
                    let value = self.expr()?;
                    fields.push(Field { key, value });
                }
                Ok(Item::Measure {
                    id,
                    fields,
                    span: start.to(self.prev_span()),
                })
            }
            "composite" => {
                let id = self.ident("a composite id")?;
                self.expect(Tok::Eq, "`=`")?;
                self.expect(Tok::LBracket, "`[`")?;
                let mut members = Vec::new();
                loop {
                    members.push(self.ident("a measure or composite id")?);
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                    if self.peek() == &Tok::RBracket {
                        break;
                    }
                }
                self.expect(Tok::RBracket, "`]`")?;
                Ok(Item::Composite {
                    id,
                    members,
                    span: start.to(self.prev_span()),
                })
            }
            _ => unreachable!(),
        }
    }

    /// Parse with `f` one nesting level deeper. Every recursive entry of the expression grammar
    /// (`expr`, and the prefix operators `not` and `-` that recurse into themselves) goes
    /// through here, so the depth is counted and bounded in one place.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        if self.depth >= MAX_DEPTH {
            let span = self.span();
            self.diags.push(
                Diagnostic::error(
                    Code::NestingTooDeep,
                    span,
                    format!("expression nested more than {MAX_DEPTH} levels deep"),
                    "too deep",
                )
                .with_hint("split the expression into named `define`s"),
            );
            // Skip the rest of the file: recovery inside such nesting would only repeat this.
            while !self.at_eof() {
                self.bump();
            }
            return Err(());
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn expr(&mut self) -> PResult<Expr> {
        self.nested(Self::or)
    }

    fn or(&mut self) -> PResult<Expr> {
        let mut lhs = self.and()?;
        while self.is_kw("or") {
            self.bump();
            let rhs = self.and()?;
            let span = lhs.span.to(rhs.span);
            lhs = Expr {
                kind: ExprKind::Binary(BinOp::Or, Box::new(lhs), Box::new(rhs)),
                span,
            };
        }
        Ok(lhs)
    }

    fn and(&mut self) -> PResult<Expr> {
        let mut lhs = self.not()?;
        while self.is_kw("and") {
            self.bump();
            let rhs = self.not()?;
            let span = lhs.span.to(rhs.span);
            lhs = Expr {
                kind: ExprKind::Binary(BinOp::And, Box::new(lhs), Box::new(rhs)),
                span,
            };
        }
        Ok(lhs)
    }

    fn not(&mut self) -> PResult<Expr> {
        if self.is_kw("not") {
            let start = self.bump().span;
            let inner = self.nested(Self::not)?;
            let span = start.to(inner.span);
            return Ok(Expr {
                kind: ExprKind::Not(Box::new(inner)),
                span,
            });
        }
        self.compare()
    }

    fn compare(&mut self) -> PResult<Expr> {
        let lhs = self.additive()?;
        let op = match self.peek() {
            Tok::EqEq => Some(BinOp::Eq),
            Tok::Ne => Some(BinOp::Ne),
            Tok::Lt => Some(BinOp::Lt),
            Tok::Le => Some(BinOp::Le),
            Tok::Gt => Some(BinOp::Gt),
            Tok::Ge => Some(BinOp::Ge),
            Tok::Eq => {
                let span = self.span();
                self.diags.push(
                    Diagnostic::error(
                        Code::AssignmentInCondition,
                        span,
                        "`=` is not a comparison",
                        "assignment is not allowed here",
                    )
                    .with_hint("use `==` to compare"),
                );
                return Err(());
            }
            _ => None,
        };
        if let Some(op) = op {
            self.bump();
            let rhs = self.additive()?;
            let span = lhs.span.to(rhs.span);
            return Ok(Expr {
                kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                span,
            });
        }
        let negated = self.is_kw("not") && matches!(self.peek_at(1), Tok::Ident(s) if s == "in");
        if negated || self.is_kw("in") {
            if negated {
                self.bump();
            }
            self.bump();
            let open = self.expect(Tok::LParen, "`(` starting the list of values")?;
            let mut list = Vec::new();
            loop {
                list.push(self.expr()?);
                if !self.eat(&Tok::Comma) || self.peek() == &Tok::RParen {
                    break;
                }
            }
            let end = self.close_paren(open, "`)` or `,`")?;
            let span = lhs.span.to(end);
            return Ok(Expr {
                kind: ExprKind::In {
                    value: Box::new(lhs),
                    list,
                    negated,
                },
                span,
            });
        }
        Ok(lhs)
    }

    fn additive(&mut self) -> PResult<Expr> {
        let mut lhs = self.unary()?;
        loop {
            let op = match self.peek() {
                Tok::Plus => BinOp::Add,
                Tok::Minus => BinOp::Sub,
                _ => break,
            };
            self.bump();
            let rhs = self.unary()?;
            let span = lhs.span.to(rhs.span);
            lhs = Expr {
                kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                span,
            };
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> PResult<Expr> {
        if self.peek() == &Tok::Minus {
            let start = self.bump().span;
            let inner = self.nested(Self::unary)?;
            let span = start.to(inner.span);
            return Ok(Expr {
                kind: ExprKind::Neg(Box::new(inner)),
                span,
            });
        }
        self.postfix()
    }

    fn postfix(&mut self) -> PResult<Expr> {
        let mut e = self.primary()?;
        while self.peek() == &Tok::Dot {
            self.bump();
            let name = self.ident("a field or method name after `.`")?;
            if self.peek() == &Tok::LParen {
                // `table.method(args)`: the receiver must be a plain name.
                let receiver = match &e.kind {
                    ExprKind::Name(n) => Ident {
                        name: n.clone(),
                        span: e.span,
                    },
                    _ => {
                        self.diags.push(
                            Diagnostic::error(
                                Code::NotATable,
                                e.span,
                                "only a table name can have methods",
                                "not a table",
                            )
                            .with_hint(
                                "write `medications.has(...)` or `clinical_events.latest(...)`",
                            ),
                        );
                        return Err(());
                    }
                };
                let args = self.args()?;
                let span = e.span.to(self.prev_span());
                e = Expr {
                    kind: ExprKind::Call {
                        receiver: Some(receiver),
                        func: name,
                        args,
                    },
                    span,
                };
            } else {
                let span = e.span.to(name.span);
                e = Expr {
                    kind: ExprKind::Field(Box::new(e), name),
                    span,
                };
            }
        }
        Ok(e)
    }

    fn args(&mut self) -> PResult<Vec<Expr>> {
        let open = self.expect(Tok::LParen, "`(`")?;
        let mut args = Vec::new();
        if self.eat(&Tok::RParen) {
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            if !self.eat(&Tok::Comma) || self.peek() == &Tok::RParen {
                break;
            }
        }
        self.close_paren(open, "`)` or `,`")?;
        Ok(args)
    }

    fn primary(&mut self) -> PResult<Expr> {
        match self.peek() {
            Tok::Ident(s) if matches!(s.as_str(), "and" | "or" | "not" | "in") => {
                return self.error_here("an expression")
            }
            Tok::Ident(s) if ITEM_KEYWORDS.contains(&s.as_str()) && self.is_item_start() => {
                return self.error_here("an expression")
            }
            Tok::Number(_) | Tok::Str(_) | Tok::Ident(_) | Tok::LParen | Tok::LBracket => {}
            _ => return self.error_here("an expression"),
        }
        let t = self.bump();
        let span = t.span;
        let kind = match t.tok {
            Tok::Number(n) => {
                if let Tok::Ident(u) = self.peek() {
                    if let Some(unit) = DurationUnit::from_word(u) {
                        let uspan = self.bump().span;
                        if n.fract() != 0.0 || n > 1.0e6 {
                            self.diags.push(Diagnostic::error(
                                Code::BadDuration,
                                span.to(uspan),
                                "a duration must be a whole number below 1000000",
                                "not a whole number of units",
                            ));
                            return Err(());
                        }
                        return Ok(Expr {
                            kind: ExprKind::Duration(n as i64, unit),
                            span: span.to(uspan),
                        });
                    }
                }
                ExprKind::Number(n)
            }
            Tok::Str(s) => ExprKind::Str(s),
            Tok::Ident(name) => match name.as_str() {
                "true" => ExprKind::Bool(true),
                "false" => ExprKind::Bool(false),
                "and" | "or" | "not" | "in" => unreachable!("rejected before bump"),
                _ => {
                    if self.peek() == &Tok::LParen {
                        let func = Ident { name, span };
                        let args = self.args()?;
                        let span = span.to(self.prev_span());
                        return Ok(Expr {
                            kind: ExprKind::Call {
                                receiver: None,
                                func,
                                args,
                            },
                            span,
                        });
                    }
                    ExprKind::Name(name)
                }
            },
            Tok::LParen => {
                let inner = self.expr()?;
                self.close_paren(span, "`)`")?;
                return Ok(Expr {
                    kind: inner.kind,
                    span: span.to(self.prev_span()),
                });
            }
            Tok::LBracket => {
                let start = if self.eat(&Tok::DotDot) {
                    None
                } else {
                    Some(Box::new(self.expr()?))
                };
                self.expect(Tok::Comma, "`,` between the window's start and end")?;
                let end = if self.eat(&Tok::DotDot) {
                    None
                } else {
                    Some(Box::new(self.expr()?))
                };
                self.expect(Tok::RBracket, "`]` closing the window")?;
                return Ok(Expr {
                    kind: ExprKind::Window(start, end),
                    span: span.to(self.prev_span()),
                });
            }
            _ => unreachable!("rejected before bump"),
        };
        Ok(Expr { kind, span })
    }
}
