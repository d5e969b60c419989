//! Check, continued: calls. `exists` and `coalesce` are checked like operators; a table method
//! (`has`, `latest`, `within`) is checked against its table and becomes a numbered feature.
//!
//! Features are deduplicated as they are met, so two measures that ask for "an NSAID in the
//! last three months" share one feature and the evaluator computes it once. Calls are the
//! largest part of the walk, so they live in their own file, as more methods of
//! [`Checker`]; this file uses `check.rs` and nothing in `check.rs` imports from here.

use super::check::Checker;
use super::value::{Duration, Ty, Val};
use crate::diagnostics::{did_you_mean_hint, Code, DiagnosticsExt, Span};
use crate::plan::{self, Feature, Table};
use crate::syntax::{Expr as Ast, Ident};

const FUNCTIONS: &[&str] = &["exists", "coalesce"];
const METHODS: &[&str] = &["has", "latest", "within"];

impl Checker<'_> {
    /// The number of a feature: a new one, or the same query met before.
    fn feature(&mut self, f: Feature) -> usize {
        if let Some(&i) = self.feature_ids.get(&f) {
            return i;
        }
        self.features.push(f);
        self.feature_ids.insert(f, self.features.len() - 1);
        self.features.len() - 1
    }

    pub(super) fn call(
        &mut self,
        span: Span,
        receiver: Option<&Ident>,
        func: &Ident,
        args: &[Ast],
    ) -> Val {
        let Some(recv) = receiver else {
            return match func.name.as_str() {
                "exists" => {
                    if args.len() != 1 {
                        self.diags.error(
                            Code::WrongArgumentCount,
                            span,
                            format!("`exists` takes 1 argument, found {}", args.len()),
                            "here",
                        );
                        return Val::Poison;
                    }
                    match self.expr(&args[0]) {
                        Val::Record(f, _) => Val::Runtime(plan::Expr::RecordExists(f), Ty::Bool),
                        Val::Runtime(e, _) => {
                            Val::Runtime(plan::Expr::Exists(Box::new(e)), Ty::Bool)
                        }
                        Val::Poison => Val::Poison,
                        other => {
                            let found = other.describe();
                            self.diags.error(
                                Code::BadExistsArgument,
                                args[0].span,
                                format!("`exists` needs a record or a value, found {found}"),
                                format!("this is {found}"),
                            );
                            Val::Poison
                        }
                    }
                }
                "coalesce" => {
                    if args.len() != 2 {
                        self.diags.error(
                            Code::WrongArgumentCount,
                            span,
                            format!("`coalesce` takes 2 arguments, found {}", args.len()),
                            "here",
                        );
                        return Val::Poison;
                    }
                    let a = self.expr(&args[0]);
                    let b = self.expr(&args[1]);
                    match (a.runtime(), b.runtime()) {
                        (Some((x, tx)), Some((y, ty))) if tx == ty => {
                            Val::Runtime(plan::Expr::Coalesce(Box::new(x), Box::new(y)), tx)
                        }
                        _ if matches!(a, Val::Poison) || matches!(b, Val::Poison) => Val::Poison,
                        _ => {
                            let (da, db) = (a.describe(), b.describe());
                            self.diags.error(
                                Code::TypeMismatch,
                                span,
                                format!("type mismatch: `coalesce` of {da} and {db}"),
                                "both arguments must have the same type",
                            );
                            Val::Poison
                        }
                    }
                }
                name if METHODS.contains(&name) => {
                    self.diags
                        .error(
                            Code::MethodNeedsTable,
                            func.span,
                            format!("`{name}` needs a table"),
                            "which table?",
                        )
                        .hint = Some(format!(
                        "write `medications.{name}(...)` or `clinical_events.{name}(...)`"
                    ));
                    Val::Poison
                }
                name => {
                    let hint = did_you_mean_hint(name, FUNCTIONS.iter().chain(METHODS).copied())
                        .unwrap_or_else(|| {
                            "functions: exists, coalesce; table methods: has, latest, within".into()
                        });
                    self.diags
                        .error(
                            Code::UnknownFunction,
                            func.span,
                            format!("unknown function `{name}`"),
                            "not a function",
                        )
                        .hint = Some(hint);
                    Val::Poison
                }
            };
        };
        let table = match self.name(&recv.name, recv.span) {
            Val::Table(t) => t,
            Val::Poison => return Val::Poison,
            other => {
                let found = other.describe();
                self.diags
                    .error(
                        Code::NotATable,
                        recv.span,
                        format!("`{}` is {found}, not a table", recv.name),
                        "methods need a table",
                    )
                    .hint = Some("the tables are `medications` and `clinical_events`".into());
                return Val::Poison;
            }
        };
        let arity = match func.name.as_str() {
            "has" | "latest" => 2,
            "within" => 4,
            other => {
                let hint = did_you_mean_hint(other, METHODS.iter().copied())
                    .unwrap_or_else(|| "table methods: has, latest, within".into());
                self.diags
                    .error(
                        Code::UnknownMethod,
                        func.span,
                        format!("tables have no method `{other}`"),
                        "unknown method",
                    )
                    .hint = Some(hint);
                return Val::Poison;
            }
        };
        if args.len() != arity {
            let usage = match func.name.as_str() {
                "has" => "TABLE.has(CODELIST, WINDOW)",
                "latest" => "TABLE.latest(CODELIST, WINDOW)",
                _ => "TABLE.within(CODELIST_A, CODELIST_B, MAX_GAP_DAYS, WINDOW)",
            };
            self.diags
                .error(
                    Code::WrongArgumentCount,
                    span,
                    format!(
                        "`{}` takes {arity} arguments, found {}",
                        func.name,
                        args.len()
                    ),
                    "wrong number of arguments",
                )
                .hint = Some(format!("usage: {usage}"));
            return Val::Poison;
        }
        let mut lists = Vec::new();
        for a in &args[..if arity == 4 { 2 } else { 1 }] {
            lists.push(self.codelist_arg(table, a));
        }
        let gap = if arity == 4 {
            match self.expr(&args[2]) {
                Val::Duration(Duration { months: 0, days }) if days >= 0 => Some(days as i32),
                Val::Poison => None,
                Val::Duration(Duration { months: 0, .. }) => {
                    self.diags.error(
                        Code::BadGap,
                        args[2].span,
                        "the gap cannot be negative",
                        "negative",
                    );
                    None
                }
                Val::Duration(_) => {
                    self.diags
                        .error(
                            Code::BadGap,
                            args[2].span,
                            "the gap must be in days or weeks",
                            "months vary in length",
                        )
                        .hint =
                        Some("PINCER's co-prescription gap is `27 days` (fewer than 28)".into());
                    None
                }
                other => {
                    let found = other.describe();
                    self.diags.error(
                        Code::BadGap,
                        args[2].span,
                        format!("the gap must be a duration like `27 days`, found {found}"),
                        format!("this is {found}"),
                    );
                    None
                }
            }
        } else {
            Some(0)
        };
        let wa = &args[arity - 1];
        let window = match self.expr(wa) {
            Val::Window(w) => Some(w),
            Val::Poison => None,
            other => {
                let found = other.describe();
                self.diags.error(
                    Code::ExpectedWindow,
                    wa.span,
                    format!("expected a window like `[index - 3 months, index]`, found {found}"),
                    format!("this is {found}"),
                );
                None
            }
        };
        let (Some(window), Some(gap)) = (window, gap) else {
            return Val::Poison;
        };
        if lists.iter().any(Option::is_none) {
            return Val::Poison;
        }
        let lists: Vec<usize> = lists.into_iter().flatten().collect();
        match func.name.as_str() {
            "has" => {
                let f = self.feature(Feature::Has {
                    codelist: lists[0],
                    window,
                });
                Val::Runtime(plan::Expr::Flag(f), Ty::Bool)
            }
            "latest" => Val::Record(
                self.feature(Feature::Latest {
                    codelist: lists[0],
                    window,
                }),
                table,
            ),
            _ => {
                let f = self.feature(Feature::Within {
                    a: lists[0],
                    b: lists[1],
                    max_gap_days: gap,
                    window,
                });
                Val::Runtime(plan::Expr::Flag(f), Ty::Bool)
            }
        }
    }

    fn codelist_arg(&mut self, table: Table, a: &Ast) -> Option<usize> {
        match self.expr(a) {
            Val::Codelist(c) => {
                let cl_table = self.decls.codelists[c].table;
                if cl_table != table {
                    let name = self.decls.codelists[c].name.clone();
                    let (kind, other) = match cl_table {
                        Table::Medications => (
                            "a dm+d (medication) codelist",
                            "clinical_events holds SNOMED CT codes",
                        ),
                        Table::ClinicalEvents => (
                            "a SNOMED CT (clinical) codelist",
                            "medications holds dm+d codes",
                        ),
                    };
                    self.diags
                        .error(
                            Code::WrongCodelistTable,
                            a.span,
                            format!("`{name}` is {kind}, used on `{}`", table.name()),
                            other,
                        )
                        .hint = Some(format!("use `{}.…` with this codelist", cl_table.name()));
                    return None;
                }
                Some(c)
            }
            Val::Poison => None,
            other => {
                let found = other.describe();
                self.diags
                    .error(
                        Code::ExpectedCodelist,
                        a.span,
                        format!("expected a codelist, found {found}"),
                        format!("this is {found}"),
                    )
                    .hint = Some("declare one with `codelist NAME = dmd(\"file.csv\")`".into());
                None
            }
        }
    }
}
