//! Lower: check each measure, the population, every definition and the composites, and put
//! the [`Plan`] together.
//!
//! This is the only phase that knows what a measure is: its fields, the documentation headings
//! it must have, that its numerator is conjoined with its denominator, and how large a formula
//! may grow once definitions are inlined. Expressions are checked by the walk in `check.rs`;
//! what comes back is already a formula, so lowering is assembly.

use std::collections::HashSet;

use super::check::{measure_formula, Checker, MAX_FORMULA_DEPTH, MAX_FORMULA_NODES};
use super::declare::Declarations;
use super::value::Val;
use crate::diagnostics::{
    did_you_mean_hint, measure_too_large, Code, Diagnostic, DiagnosticsExt, SourceMap,
};
use crate::plan::{self, Plan};
use crate::syntax::{ExprKind, Field, Ident};

/// The headings every measure's documentation must have.
pub const DOC_HEADINGS: &[&str] = &[
    "What it flags",
    "Why it matters",
    "Definition",
    "References",
];

/// The fields of a `measure { ... }`.
const MEASURE_FIELDS: &[&str] = &["primis", "title", "doc", "denominator", "numerator"];

/// The plan of a declared pack, and the diagnostics so far with this phase's added.
pub(super) fn lower(
    decls: Declarations,
    sources: &SourceMap,
    diags: Vec<Diagnostic>,
) -> (Plan, Vec<Diagnostic>) {
    let mut l = Lowerer {
        c: Checker::new(&decls, diags),
        sources,
    };
    let measures: Vec<plan::Measure> = decls
        .measures
        .iter()
        .filter_map(|(id, fields)| l.measure(id, fields))
        .collect();

    let population = match &decls.population {
        Some(p) => {
            let v = l.c.expr(p);
            l.c.expect_bool(v, p.span, "the population")
                .unwrap_or(plan::Expr::Bool(false))
            // (its size is bounded by the check on every definition it uses)
        }
        None => plan::Expr::Or(measures.iter().map(|m| m.denominator.clone()).collect()),
    };

    // Every define is checked, used or not: a broken definition is a bug waiting in the pack.
    for (n, (name, _)) in &decls.defines {
        l.c.name(n, name.span);
    }

    let definitions = decls
        .defines
        .keys()
        .filter_map(|n| {
            let value = match l.c.resolved(n)? {
                Val::Runtime(e, _) => plan::Defined::Formula(e.clone()),
                Val::Record(f, _) => plan::Defined::Record(*f),
                Val::Window(w) => plan::Defined::Window(*w),
                _ => return None,
            };
            Some(plan::Definition {
                name: n.clone(),
                value,
            })
        })
        .collect();
    let composites = l.composites(&measures);
    let params = decls
        .params
        .iter()
        .map(|(k, (_, v))| (k.clone(), v.describe_param()))
        .collect();
    let (features, diags) = l.c.finish();
    let plan = Plan {
        codelists: decls.codelists,
        features,
        population,
        measures,
        composites,
        params,
        definitions,
    };
    (plan, diags)
}

struct Lowerer<'d> {
    c: Checker<'d>,
    sources: &'d SourceMap,
}

impl Lowerer<'_> {
    /// A measure, or `None` when its denominator or numerator did not compile (reported).
    fn measure(&mut self, id: &Ident, fields: &[Field]) -> Option<plan::Measure> {
        for f in fields {
            if !MEASURE_FIELDS.contains(&f.key.name.as_str()) {
                let hint = did_you_mean_hint(&f.key.name, MEASURE_FIELDS.iter().copied())
                    .unwrap_or_else(|| format!("fields: {}", MEASURE_FIELDS.join(", ")));
                self.c
                    .diags
                    .error(
                        Code::UnknownMeasureField,
                        f.key.span,
                        format!("unknown measure field `{}`", f.key.name),
                        "unknown field",
                    )
                    .hint = Some(hint);
            }
            if fields.iter().filter(|g| g.key.name == f.key.name).count() > 1
                && fields.iter().position(|g| g.key.name == f.key.name)
                    != fields.iter().position(|g| std::ptr::eq(g, f))
            {
                self.c.diags.error(
                    Code::FieldTwice,
                    f.key.span,
                    format!("field `{}` is given twice", f.key.name),
                    "second time",
                );
            }
        }
        let primis = self.string_field(id, fields, "primis");
        let title = self.string_field(id, fields, "title");
        let doc = self.string_field(id, fields, "doc");
        if let Some(f) = fields.iter().find(|f| f.key.name == "doc") {
            let missing: Vec<&str> = DOC_HEADINGS
                .iter()
                .copied()
                .filter(|h| !doc.contains(h))
                .collect();
            if !missing.is_empty() && matches!(f.value.kind, ExprKind::Str(_)) {
                self.c.diags.push(
                    Diagnostic::warning(
                        Code::MissingDocHeadings,
                        f.value.span,
                        format!(
                            "the documentation of `{}` lacks: {}",
                            id.name,
                            missing.join(", ")
                        ),
                        "documentation",
                    )
                    .with_hint(format!(
                        "measure docs have the headings: {}",
                        DOC_HEADINGS.join(" / ")
                    )),
                );
            }
        }
        let den = self
            .formula(id, fields, "denominator")
            .and_then(|e| self.bounded(e, id, "denominator"));
        let num = self
            .formula(id, fields, "numerator")
            .and_then(|e| self.bounded(e, id, "numerator"));
        let (Some(den), Some(num)) = (den, num) else {
            return None;
        };
        let numerator = match num {
            plan::Expr::And(mut v) => {
                v.insert(0, den.clone());
                plan::Expr::And(v)
            }
            other => plan::Expr::And(vec![den.clone(), other]),
        };
        Some(plan::Measure {
            id: id.name.clone(),
            primis,
            title,
            doc,
            file: self.sources.path(id.span.file).display().to_string(),
            denominator: den,
            numerator,
        })
    }

    fn string_field(&mut self, id: &Ident, fields: &[Field], key: &str) -> String {
        match fields.iter().find(|f| f.key.name == key) {
            Some(f) => match &f.value.kind {
                ExprKind::Str(s) => s.clone(),
                _ => {
                    self.c.diags.error(
                        Code::FieldNotString,
                        f.value.span,
                        format!("`{key}` must be a string"),
                        "not a string",
                    );
                    String::new()
                }
            },
            None => {
                self.c.diags.error(
                    Code::MissingMeasureField,
                    id.span,
                    format!("measure `{}` has no `{key}`", id.name),
                    format!("add `{key} = \"...\"`"),
                );
                String::new()
            }
        }
    }

    /// The condition given as field `key` of a measure.
    fn formula(&mut self, id: &Ident, fields: &[Field], key: &str) -> Option<plan::Expr> {
        let Some(f) = fields.iter().find(|f| f.key.name == key) else {
            self.c.diags.error(
                Code::MissingMeasureField,
                id.span,
                format!("measure `{}` has no `{key}`", id.name),
                format!("add `{key} = ...`"),
            );
            return None;
        };
        let v = self.c.expr(&f.value);
        self.c.expect_bool(v, f.value.span, &format!("the {key}"))
    }

    /// Reject formulas too large or deep to evaluate safely (definitions inline, so a chain of
    /// `define d2 = d1 and d1` doubles at every step).
    fn bounded(&mut self, e: plan::Expr, id: &Ident, what: &str) -> Option<plan::Expr> {
        let (nodes, depth) = measure_formula(&e, 1, MAX_FORMULA_NODES + 1);
        if nodes > MAX_FORMULA_NODES || depth > MAX_FORMULA_DEPTH {
            let (max_nodes, max_depth) = (MAX_FORMULA_NODES, MAX_FORMULA_DEPTH);
            let message = measure_too_large(what, &id.name, nodes, depth, max_nodes, max_depth);
            self.c
                .diags
                .error(Code::FormulaTooLarge, id.span, message, "here")
                .hint = Some("simplify the definitions it uses".into());
            return None;
        }
        Some(e)
    }

    /// Each composite whose members all compiled, flattened to measure indexes.
    fn composites(&mut self, measures: &[plan::Measure]) -> Vec<plan::Composite> {
        let declared = self.c.decls;
        let decls = &declared.composites;
        let mut out = Vec::new();
        for (id, _) in decls {
            let mut members = Vec::new();
            let mut stack = vec![id.name.clone()];
            if self.flatten(decls, measures, id, &mut stack, &mut members) {
                let mut seen = HashSet::new();
                members.retain(|m| seen.insert(*m));
                out.push(plan::Composite {
                    id: id.name.clone(),
                    members,
                });
            }
        }
        out
    }

    fn flatten(
        &mut self,
        decls: &[(Ident, Vec<Ident>)],
        measures: &[plan::Measure],
        id: &Ident,
        stack: &mut Vec<String>,
        out: &mut Vec<usize>,
    ) -> bool {
        let Some((_, members)) = decls.iter().find(|(c, _)| c.name == id.name) else {
            return false;
        };
        let all = self.c.decls;
        let declared = &all.measures;
        let mut ok = true;
        for m in members {
            if let Some(i) = measures.iter().position(|x| x.id == m.name) {
                out.push(i);
            } else if decls.iter().any(|(c, _)| c.name == m.name) {
                if stack.contains(&m.name) {
                    let chain = format!("{} -> {}", stack.join(" -> "), m.name);
                    self.c.diags.error(
                        Code::CompositeCycle,
                        m.span,
                        format!("composites form a cycle: {chain}"),
                        "cycle",
                    );
                    ok = false;
                    continue;
                }
                stack.push(m.name.clone());
                ok &= self.flatten(decls, measures, m, stack, out);
                stack.pop();
            } else if declared.iter().any(|(x, _)| x.name == m.name) {
                ok = false; // the measure itself failed to compile; already reported
            } else {
                let names: Vec<String> = declared
                    .iter()
                    .map(|(x, _)| x.name.clone())
                    .chain(decls.iter().map(|(c, _)| c.name.clone()))
                    .collect();
                let hint = did_you_mean_hint(&m.name, names.iter().map(String::as_str));
                self.c
                    .diags
                    .error(
                        Code::UnknownMember,
                        m.span,
                        format!("unknown measure or composite `{}`", m.name),
                        "not declared",
                    )
                    .hint = hint;
                ok = false;
            }
        }
        ok
    }
}
