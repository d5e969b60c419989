//! Declare: gather the items of every file into one namespace, before any expression is read.
//!
//! All names are declared first so that a definition may use one declared later or in another
//! file; check resolves them on demand. A codelist's file is read here, since its codes are
//! part of the declaration, and `--param` overrides replace parameter defaults here, before
//! anything uses them. Duplicate names, clashes with built-in names and duplicate measure or
//! composite ids are reported in this phase; nothing else is.

use std::collections::BTreeMap;
use std::path::Path;

use super::codelists::{self, PackFiles};
use super::value::{Duration, Ty, Val};
use crate::diagnostics::{
    did_you_mean_hint, Code, Diagnostic, DiagnosticsExt, SourceMap, Span, HINT_PARAM_LITERAL,
};
use crate::plan::{self, Offset, Table};
use crate::syntax::{Expr as Ast, ExprKind, Field, Ident, Item};

/// The names the language declares before any file is read, with their values. No item may
/// take one of them.
pub(super) const BUILTINS: &[(&str, Val)] = &[
    ("index", Val::RelDate(Offset { months: 0, days: 0 })),
    ("age", Val::Runtime(plan::Expr::Age, Ty::Num)),
    ("sex", Val::Runtime(plan::Expr::Sex, Ty::Str)),
    ("registered", Val::Runtime(plan::Expr::Registered, Ty::Bool)),
    ("dead", Val::Runtime(plan::Expr::Dead, Ty::Bool)),
    ("medications", Val::Table(Table::Medications)),
    ("clinical_events", Val::Table(Table::ClinicalEvents)),
];

pub(super) struct CodelistDecl {
    pub(super) name: Ident,
    /// Index into [`Declarations::codelists`]; `None` when the file could not be read
    /// (already reported).
    pub(super) loaded: Option<usize>,
}

/// Everything the files of a pack declare, by kind.
#[derive(Default)]
pub(super) struct Declarations {
    /// The codelists that were read, in declaration order: the plan's codelists.
    pub(super) codelists: Vec<plan::Codelist>,
    pub(super) codelist_decls: BTreeMap<String, CodelistDecl>,
    /// Each parameter's value: its default, or its `--param` override.
    pub(super) params: BTreeMap<String, (Ident, Val)>,
    pub(super) defines: BTreeMap<String, (Ident, Ast)>,
    pub(super) population: Option<Ast>,
    pub(super) measures: Vec<(Ident, Vec<Field>)>,
    pub(super) composites: Vec<(Ident, Vec<Ident>)>,
}

/// Declare every item, reading the codelists they name through `pack`.
pub(super) fn declare(
    items: Vec<Item>,
    sources: &SourceMap,
    pack: &dyn PackFiles,
    diags: &mut Vec<Diagnostic>,
) -> Declarations {
    let mut d = Declarer {
        decls: Declarations::default(),
        sources,
        pack,
        diags,
    };
    for item in items {
        d.item(item);
    }
    d.decls
}

impl Declarations {
    /// Replace parameter defaults by `NAME=VALUE` overrides, each parsed as its parameter's type.
    pub(super) fn apply_overrides(
        &mut self,
        overrides: &[(String, String)],
        option: &str,
        diags: &mut Vec<Diagnostic>,
    ) {
        for (name, text) in overrides {
            let Some((ident, current)) = self.params.get(name) else {
                let known: Vec<&str> = self.params.keys().map(String::as_str).collect();
                let hint = did_you_mean_hint(name, known.iter().copied()).unwrap_or_else(|| {
                    format!(
                        "parameters of this pack: {}",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    )
                });
                let span = Span::new(0, 0, 0);
                diags
                    .error(
                        Code::UnknownParam,
                        span,
                        format!("{option} {name}: this pack has no parameter `{name}`"),
                        "the pack starts here",
                    )
                    .hint = Some(hint);
                continue;
            };
            let span = ident.span;
            let parsed = match current {
                Val::Runtime(plan::Expr::Num(_), _) => text
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .map(|v| Val::Runtime(plan::Expr::Num(v), Ty::Num)),
                Val::Runtime(plan::Expr::Bool(_), _) => match text.trim() {
                    "true" => Some(Val::Runtime(plan::Expr::Bool(true), Ty::Bool)),
                    "false" => Some(Val::Runtime(plan::Expr::Bool(false), Ty::Bool)),
                    _ => None,
                },
                Val::Runtime(plan::Expr::Str(_), _) => {
                    Some(Val::Runtime(plan::Expr::Str(text.clone()), Ty::Str))
                }
                Val::Duration(_) => Duration::parse(text).map(Val::Duration),
                _ => None,
            };
            match parsed {
                Some(v) => {
                    if let Some(entry) = self.params.get_mut(name) {
                        entry.1 = v;
                    }
                }
                None => {
                    let expected = current.describe();
                    diags.error(
                        Code::BadParamValue,
                        span,
                        format!("{option} {name}={text}: expected {expected}"),
                        "parameter declared here",
                    );
                }
            }
        }
    }
}

struct Declarer<'a> {
    decls: Declarations,
    sources: &'a SourceMap,
    pack: &'a dyn PackFiles,
    diags: &'a mut Vec<Diagnostic>,
}

impl Declarer<'_> {
    fn here(&self, span: Span) -> String {
        let (l, c) = self.sources.line_col(span.file, span.start);
        format!("{}:{l}:{c}", self.sources.path(span.file).display())
    }

    /// Is this name already taken? Reports a duplicate and returns true if so.
    fn taken(&mut self, name: &Ident) -> bool {
        let decls = &self.decls;
        let previous = if BUILTINS.iter().any(|(b, _)| *b == name.name) {
            Some(None)
        } else if let Some(d) = decls.codelist_decls.get(&name.name) {
            Some(Some(d.name.span))
        } else if let Some((i, _)) = decls.params.get(&name.name) {
            Some(Some(i.span))
        } else {
            decls.defines.get(&name.name).map(|(i, _)| Some(i.span))
        };
        match previous {
            None => false,
            Some(None) => {
                self.diags
                    .error(
                        Code::BuiltinRedefined,
                        name.span,
                        format!("`{}` is a built-in name", name.name),
                        "cannot be redefined",
                    )
                    .hint = Some("choose another name".into());
                true
            }
            Some(Some(prev)) => {
                let at = self.here(prev);
                self.diags
                    .error(
                        Code::DefinedTwice,
                        name.span,
                        format!("`{}` is defined twice", name.name),
                        "second definition",
                    )
                    .hint = Some(format!("the first definition is at {at}"));
                true
            }
        }
    }

    fn item(&mut self, item: Item) {
        match item {
            Item::Codelist {
                name,
                system,
                path,
                column,
                ..
            } => {
                if self.taken(&name) {
                    return;
                }
                let Some(table) = self.system(&system) else {
                    return;
                };
                let loaded = self.codelist(&name, table, &path, column.as_ref());
                self.decls
                    .codelist_decls
                    .insert(name.name.clone(), CodelistDecl { name, loaded });
            }
            Item::Param { name, value } => {
                if self.taken(&name) {
                    return;
                }
                let literal = match &value.kind {
                    // `-3` parses as a negation of `3`.
                    ExprKind::Neg(inner) => match inner.kind {
                        ExprKind::Number(n) => Some(Val::Runtime(plan::Expr::Num(-n), Ty::Num)),
                        _ => None,
                    },
                    kind => Val::literal(kind),
                };
                let v = match literal {
                    Some(v) => v,
                    None if matches!(value.kind, ExprKind::Invalid) => Val::Poison,
                    None => {
                        let message = "a parameter's default must be a literal";
                        self.diags
                            .error(Code::ParamNotLiteral, value.span, message, "not a literal")
                            .hint = Some(HINT_PARAM_LITERAL.into());
                        Val::Poison
                    }
                };
                self.decls.params.insert(name.name.clone(), (name, v));
            }
            Item::Define { name, value } => {
                if self.taken(&name) {
                    return;
                }
                self.decls.defines.insert(name.name.clone(), (name, value));
            }
            Item::Population { value, span } => {
                if let Some(prev) = &self.decls.population {
                    let at = self.here(prev.span);
                    self.diags
                        .error(
                            Code::PopulationTwice,
                            span,
                            "`population` is declared twice",
                            "second declaration",
                        )
                        .hint = Some(format!("the first is at {at}"));
                } else {
                    self.decls.population = Some(value);
                }
            }
            Item::Measure { id, fields, .. } => {
                if let Some((prev, _)) = self.decls.measures.iter().find(|(m, _)| m.name == id.name)
                {
                    let at = self.here(prev.span);
                    self.diags
                        .error(
                            Code::DuplicateId,
                            id.span,
                            format!("duplicate measure id `{}`", id.name),
                            "already used",
                        )
                        .hint = Some(format!("the first measure `{}` is at {at}", id.name));
                    return;
                }
                self.decls.measures.push((id, fields));
            }
            Item::Composite { id, members, .. } => {
                let clash = self
                    .decls
                    .composites
                    .iter()
                    .map(|(c, _)| c)
                    .chain(self.decls.measures.iter().map(|(m, _)| m))
                    .find(|c| c.name == id.name)
                    .map(|c| c.span);
                if let Some(prev) = clash {
                    let at = self.here(prev);
                    self.diags
                        .error(
                            Code::DuplicateId,
                            id.span,
                            format!("duplicate id `{}`", id.name),
                            "already used",
                        )
                        .hint = Some(format!("first used at {at}"));
                    return;
                }
                self.decls.composites.push((id, members));
            }
        }
    }

    /// The table a coding system's codes are matched against.
    fn system(&mut self, system: &Ident) -> Option<Table> {
        match system.name.as_str() {
            "dmd" => Some(Table::Medications),
            "snomedct" => Some(Table::ClinicalEvents),
            other => {
                let hint = did_you_mean_hint(other, ["dmd", "snomedct"]).unwrap_or_else(|| {
                    "use `dmd` for medication codelists or `snomedct` for clinical codelists"
                        .to_string()
                });
                self.diags
                    .error(
                        Code::UnknownCodingSystem,
                        system.span,
                        format!("unknown coding system `{other}`"),
                        "expected `dmd` or `snomedct`",
                    )
                    .hint = Some(hint);
                None
            }
        }
    }

    /// Read a codelist's file; its index in the plan's codelists, or `None` (reported).
    fn codelist(
        &mut self,
        name: &Ident,
        table: Table,
        path: &(String, Span),
        column: Option<&(String, Span)>,
    ) -> Option<usize> {
        let base = self
            .sources
            .path(name.span.file)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let file = base.join(&path.0);
        let column_name = column
            .map_or(
                if table == Table::Medications {
                    "id"
                } else {
                    "code"
                },
                |c| c.0.as_str(),
            )
            .to_string();
        let problem = match codelists::read_codes(self.pack, &file, &column_name) {
            Ok(rows) => {
                let (codes, terms) = rows.into_iter().unzip();
                self.decls.codelists.push(plan::Codelist {
                    name: name.name.clone(),
                    table,
                    path: file.display().to_string(),
                    column: column_name,
                    codes,
                    terms,
                });
                return Some(self.decls.codelists.len() - 1);
            }
            Err(problem) => problem,
        };
        use codelists::CodelistProblem as P;
        let shown = file.display().to_string();
        match problem {
            P::Unreadable(m) => {
                self.diags
                    .error(
                        Code::CodelistUnreadable,
                        path.1,
                        format!("cannot read codelist file {shown}"),
                        m,
                    )
                    .hint = Some("paths are relative to the folder of this rule file".into());
            }
            P::NoColumn { column: col, found } => {
                let span = column.map_or(path.1, |c| c.1);
                let columns = format!("the file has columns: {}", found.join(", "));
                let hint = match did_you_mean_hint(&col, found.iter().map(String::as_str)) {
                    Some(h) => format!("{h} {columns}"),
                    None => columns,
                };
                self.diags
                    .error(
                        Code::CodelistMissingColumn,
                        span,
                        format!("codelist file {shown} has no column `{col}`"),
                        "no such column",
                    )
                    .hint = Some(hint);
            }
            P::BadRow { line, message } => {
                self.diags.error(
                    Code::CodelistBadRow,
                    path.1,
                    format!("codelist file {shown}, line {line}: {message}"),
                    "in this codelist",
                );
            }
            P::Empty => {
                self.diags.error(
                    Code::CodelistEmpty,
                    path.1,
                    format!("codelist file {shown} has no codes"),
                    "empty codelist",
                );
            }
        }
        None
    }
}
