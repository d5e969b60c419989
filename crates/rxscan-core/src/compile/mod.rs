//! Stages 2 and 3: resolve names, load codelists, check types, and lower to a [`Plan`].
//!
//! Resolution is demand-driven: a `define` is resolved when first used (and memoised), which
//! makes cycle detection a matter of keeping the current chain on a stack. Every problem is
//! pushed as a [`Diagnostic`] and resolution carries on with a poisoned value, so one run
//! reports all errors of a pack. Definitions are inlined into the plan's formulas; record
//! queries are deduplicated into numbered features, so two measures that ask for "an NSAID in
//! the last three months" share one feature.

mod codelists;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::dates;
use crate::diagnostics::{did_you_mean_hint, Diagnostic, Severity, SourceMap, Span};
use crate::plan::{self, CmpOp, Feature, Offset, Plan, RecordField, Table, Window};
use crate::syntax::{self, BinOp, DurationUnit, Expr as Ast, ExprKind, Ident, Item};

/// The longest reach of a window from the index date, in years. A larger one is almost
/// certainly a typo, and rejecting it keeps date arithmetic in range.
pub const MAX_WINDOW_YEARS: i32 = 200;

/// Deepest chain of definitions using definitions.
pub const MAX_DEFINE_DEPTH: usize = 64;
/// Largest formula (nodes after inlining definitions) and deepest nesting the evaluator accepts.
pub const MAX_FORMULA_NODES: usize = 100_000;
pub const MAX_FORMULA_DEPTH: usize = 256;

/// The headings every measure's documentation must have.
pub const DOC_HEADINGS: &[&str] = &[
    "What it flags",
    "Why it matters",
    "Definition",
    "References",
];

const BUILTINS: &[&str] = &[
    "index",
    "age",
    "sex",
    "registered",
    "dead",
    "medications",
    "clinical_events",
];
const FUNCTIONS: &[&str] = &["exists", "coalesce"];
const METHODS: &[&str] = &["has", "latest", "within"];
/// The fields of a `measure { ... }`.
const MEASURE_FIELDS: &[&str] = &["primis", "title", "doc", "denominator", "numerator"];

/// Options for compilation.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// `NAME=VALUE` overrides of `param` defaults.
    pub params: Vec<(String, String)>,
}

/// A compiled pack, with any warnings and the sources to render them against.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub plan: Plan,
    pub warnings: Vec<Diagnostic>,
    pub sources: SourceMap,
}

/// Why a pack did not compile.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("cannot read rules at {path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("no rule files (*.rx) found under {0}")]
    NoRules(PathBuf),
    #[error("{} error(s) in the rules", diagnostics.iter().filter(|d| d.severity == Severity::Error).count())]
    Invalid {
        diagnostics: Vec<Diagnostic>,
        sources: SourceMap,
    },
}

impl CompileError {
    /// Human-readable text: the rendered diagnostics, or the I/O message.
    pub fn render(&self, color: bool) -> String {
        match self {
            CompileError::Invalid {
                diagnostics,
                sources,
            } => {
                let n = diagnostics
                    .iter()
                    .filter(|d| d.severity == Severity::Error)
                    .count();
                format!(
                    "{}{n} error(s) in the rules\n",
                    sources.render(diagnostics, color)
                )
            }
            other => format!("{other}\n"),
        }
    }
}

/// Reads the files a pack's rules refer to (codelists), by the path resolved against the
/// folder of the rule file that names them. A pack on disk reads the file system
/// ([`DiskFiles`]); a pack compiled into a program reads its own copy.
pub trait PackFiles: Sync {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>>;
}

/// Pack files read from the file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiskFiles;

impl PackFiles for DiskFiles {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        if path.is_dir() {
            return Err(std::io::Error::other(format!(
                "{} is a directory",
                path.display()
            )));
        }
        std::fs::read(path)
    }
}

/// Compile every `*.rx` file under `dir` (recursively, in path order).
pub fn compile_dir(dir: &Path, opts: &CompileOptions) -> Result<Compiled, CompileError> {
    let mut files = Vec::new();
    collect_rule_files(dir, &mut files)?;
    if files.is_empty() {
        return Err(CompileError::NoRules(dir.to_path_buf()));
    }
    files.sort();
    let mut sources = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| CompileError::Io {
            path: f.clone(),
            message: e.to_string(),
        })?;
        sources.push((f, text));
    }
    compile_sources(sources, opts)
}

fn collect_rule_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CompileError> {
    let io = |e: std::io::Error| CompileError::Io {
        path: dir.to_path_buf(),
        message: e.to_string(),
    };
    if !dir.is_dir() {
        return Err(CompileError::Io {
            path: dir.to_path_buf(),
            message: "not a directory".into(),
        });
    }
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            collect_rule_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rx") {
            out.push(path);
        }
    }
    Ok(())
}

/// Compile rule files given as (path, text). Codelist paths resolve against each file's folder
/// and are read from disk.
pub fn compile_sources(
    files: Vec<(PathBuf, String)>,
    opts: &CompileOptions,
) -> Result<Compiled, CompileError> {
    compile_pack(files, &DiskFiles, opts)
}

/// Compile rule files given as (path, text), reading the codelists they name through `pack`
/// (for a pack that is not on disk, such as one compiled into a program).
pub fn compile_pack(
    files: Vec<(PathBuf, String)>,
    pack: &dyn PackFiles,
    opts: &CompileOptions,
) -> Result<Compiled, CompileError> {
    // Parsing and resolution recurse over the syntax tree. Depths are bounded, but debug builds
    // use large frames, so run on a thread whose stack comfortably holds the bounds.
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn_scoped(scope, || compile_on_this_thread(files, pack, opts))
            .map_err(|e| CompileError::Io {
                path: PathBuf::from("<compiler thread>"),
                message: e.to_string(),
            })?
            .join()
            .unwrap_or_else(|_| {
                Err(CompileError::Io {
                    path: PathBuf::from("<compiler thread>"),
                    message: "the compiler crashed".into(),
                })
            })
    })
}

fn compile_on_this_thread(
    files: Vec<(PathBuf, String)>,
    pack: &dyn PackFiles,
    opts: &CompileOptions,
) -> Result<Compiled, CompileError> {
    let mut sources = SourceMap::default();
    let mut diags = Vec::new();
    let mut items = Vec::new();
    for (path, text) in files {
        let id = sources.add(path, text);
        let parsed = syntax::parse_file(id, sources.text(id), &mut diags);
        items.extend(parsed);
    }
    let mut c = Compiler::new(&sources, pack, diags);
    c.collect(items);
    c.apply_overrides(&opts.params);
    let plan = c.lower();
    let Compiler { diags, .. } = c;
    if diags.iter().any(|d| d.severity == Severity::Error) {
        let mut diagnostics = diags;
        diagnostics.sort_by_key(|d| (d.span.file, d.span.start, d.severity));
        return Err(CompileError::Invalid {
            diagnostics,
            sources,
        });
    }
    Ok(Compiled {
        plan,
        warnings: diags,
        sources,
    })
}

/// A value during resolution. Only `Runtime` values (and index-relative dates) reach the plan.
#[derive(Debug, Clone)]
enum Val {
    /// A per-patient value computed by the evaluator.
    Runtime(plan::Expr, Ty),
    /// `index ± durations`.
    RelDate(Offset),
    Duration(Duration),
    Window(Window),
    Codelist(usize),
    /// A `latest(...)` feature.
    Record(usize, Table),
    Table(Table),
    /// Already reported; suppresses follow-on errors.
    Poison,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Duration {
    months: i64,
    days: i64,
}

impl Duration {
    /// `n` of `unit`: weeks are 7 days, years 12 months.
    fn of(n: i64, unit: DurationUnit) -> Duration {
        match unit {
            DurationUnit::Days => Duration { months: 0, days: n },
            DurationUnit::Weeks => Duration {
                months: 0,
                days: n * 7,
            },
            DurationUnit::Months => Duration { months: n, days: 0 },
            DurationUnit::Years => Duration {
                months: n * 12,
                days: 0,
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Bool,
    Num,
    Str,
    Date,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Bool => "a boolean",
            Ty::Num => "a number",
            Ty::Str => "a string",
            Ty::Date => "a date",
        }
    }
}

impl Val {
    fn describe(&self) -> &'static str {
        match self {
            Val::Runtime(_, t) => t.name(),
            Val::RelDate(_) => "a date",
            Val::Duration(_) => "a duration",
            Val::Window(_) => "a window",
            Val::Codelist(_) => "a codelist",
            Val::Record(..) => "a record",
            Val::Table(_) => "a table",
            Val::Poison => "an invalid value",
        }
    }
    /// As a per-patient value, if it is one.
    fn runtime(&self) -> Option<(plan::Expr, Ty)> {
        match self {
            Val::Runtime(e, t) => Some((e.clone(), *t)),
            Val::RelDate(o) => Some((plan::Expr::IndexDate(*o), Ty::Date)),
            _ => None,
        }
    }
}

struct CodelistDecl {
    name: Ident,
    loaded: Option<usize>,
}

struct Compiler<'s> {
    sources: &'s SourceMap,
    pack: &'s dyn PackFiles,
    diags: Vec<Diagnostic>,
    codelists: Vec<plan::Codelist>,
    codelist_decls: BTreeMap<String, CodelistDecl>,
    params: BTreeMap<String, (Ident, Ast, Val)>,
    defines: BTreeMap<String, (Ident, Ast)>,
    resolved: HashMap<String, Val>,
    in_progress: Vec<String>,
    population: Option<Ast>,
    measures: Vec<(Ident, Vec<syntax::Field>, Span)>,
    composites: Vec<(Ident, Vec<Ident>)>,
    features: Vec<Feature>,
    feature_ids: HashMap<Feature, usize>,
    /// A too-deep chain of definitions is reported once, not once per entry point.
    depth_reported: bool,
}

impl<'s> Compiler<'s> {
    fn new(sources: &'s SourceMap, pack: &'s dyn PackFiles, diags: Vec<Diagnostic>) -> Self {
        Compiler {
            sources,
            pack,
            diags,
            codelists: Vec::new(),
            codelist_decls: BTreeMap::new(),
            params: BTreeMap::new(),
            defines: BTreeMap::new(),
            resolved: HashMap::new(),
            in_progress: Vec::new(),
            population: None,
            measures: Vec::new(),
            composites: Vec::new(),
            features: Vec::new(),
            feature_ids: HashMap::new(),
            depth_reported: false,
        }
    }

    fn err(
        &mut self,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diags.push(Diagnostic::error(span, message, label));
        self.diags.last_mut().expect("just pushed")
    }

    fn here(&self, span: Span) -> String {
        let (l, c) = self.sources.line_col(span.file, span.start);
        format!("{}:{l}:{c}", self.sources.path(span.file).display())
    }

    /// Is this name already taken? Reports a duplicate and returns true if so.
    fn taken(&mut self, name: &Ident) -> bool {
        let previous = if BUILTINS.contains(&name.name.as_str()) {
            Some(None)
        } else if let Some(d) = self.codelist_decls.get(&name.name) {
            Some(Some(d.name.span))
        } else if let Some((i, _, _)) = self.params.get(&name.name) {
            Some(Some(i.span))
        } else {
            self.defines.get(&name.name).map(|(i, _)| Some(i.span))
        };
        match previous {
            None => false,
            Some(None) => {
                self.err(
                    name.span,
                    format!("`{}` is a built-in name", name.name),
                    "cannot be redefined",
                )
                .hint = Some("choose another name".into());
                true
            }
            Some(Some(prev)) => {
                let at = self.here(prev);
                self.err(
                    name.span,
                    format!("`{}` is defined twice", name.name),
                    "second definition",
                )
                .hint = Some(format!("the first definition is at {at}"));
                true
            }
        }
    }

    fn collect(&mut self, items: Vec<Item>) {
        for item in items {
            match item {
                Item::Codelist {
                    name,
                    system,
                    path,
                    column,
                    ..
                } => {
                    if self.taken(&name) {
                        continue;
                    }
                    let table = match system.name.as_str() {
                        "dmd" => Table::Medications,
                        "snomedct" => Table::ClinicalEvents,
                        other => {
                            let hint = did_you_mean_hint(other, ["dmd", "snomedct"]).unwrap_or_else(
                                || "use `dmd` for medication codelists or `snomedct` for clinical codelists".to_string(),
                            );
                            self.err(
                                system.span,
                                format!("unknown coding system `{other}`"),
                                "expected `dmd` or `snomedct`",
                            )
                            .hint = Some(hint);
                            continue;
                        }
                    };
                    let base = self
                        .sources
                        .path(name.span.file)
                        .parent()
                        .map(Path::to_path_buf)
                        .unwrap_or_default();
                    let file = base.join(&path.0);
                    let column_name = column
                        .as_ref()
                        .map_or(
                            if table == Table::Medications {
                                "id"
                            } else {
                                "code"
                            },
                            |c| c.0.as_str(),
                        )
                        .to_string();
                    let loaded = match codelists::read_codes(self.pack, &file, &column_name) {
                        Ok(codes) => {
                            self.codelists.push(plan::Codelist {
                                name: name.name.clone(),
                                table,
                                path: file.display().to_string(),
                                column: column_name,
                                codes,
                            });
                            Some(self.codelists.len() - 1)
                        }
                        Err(problem) => {
                            use codelists::CodelistProblem as P;
                            let shown = file.display().to_string();
                            match problem {
                                P::Unreadable(m) => {
                                    self.err(
                                        path.1,
                                        format!("cannot read codelist file {shown}"),
                                        m,
                                    )
                                    .hint = Some(
                                        "paths are relative to the folder of this rule file".into(),
                                    );
                                }
                                P::NoColumn { column: col, found } => {
                                    let span = column.as_ref().map_or(path.1, |c| c.1);
                                    let columns =
                                        format!("the file has columns: {}", found.join(", "));
                                    let hint = match did_you_mean_hint(
                                        &col,
                                        found.iter().map(String::as_str),
                                    ) {
                                        Some(h) => format!("{h} {columns}"),
                                        None => columns,
                                    };
                                    self.err(
                                        span,
                                        format!("codelist file {shown} has no column `{col}`"),
                                        "no such column",
                                    )
                                    .hint = Some(hint);
                                }
                                P::BadRow { line, message } => {
                                    self.err(
                                        path.1,
                                        format!("codelist file {shown}, line {line}: {message}"),
                                        "in this codelist",
                                    );
                                }
                                P::Empty => {
                                    self.err(
                                        path.1,
                                        format!("codelist file {shown} has no codes"),
                                        "empty codelist",
                                    );
                                }
                            }
                            None
                        }
                    };
                    self.codelist_decls
                        .insert(name.name.clone(), CodelistDecl { name, loaded });
                }
                Item::Param { name, value } => {
                    if self.taken(&name) {
                        continue;
                    }
                    let v = match &value.kind {
                        ExprKind::Number(_)
                        | ExprKind::Str(_)
                        | ExprKind::Bool(_)
                        | ExprKind::Duration(..) => self.expr(&value),
                        ExprKind::Neg(inner) if matches!(inner.kind, ExprKind::Number(_)) => {
                            self.expr(&value)
                        }
                        ExprKind::Invalid => Val::Poison,
                        _ => {
                            self.err(value.span, "a parameter's default must be a literal", "not a literal").hint =
                                Some("use a number, a string, `true`/`false` or a duration like `27 days`; use `define` for expressions".into());
                            Val::Poison
                        }
                    };
                    self.params.insert(name.name.clone(), (name, value, v));
                }
                Item::Define { name, value } => {
                    if self.taken(&name) {
                        continue;
                    }
                    self.defines.insert(name.name.clone(), (name, value));
                }
                Item::Population { value, span } => {
                    if let Some(prev) = &self.population {
                        let at = self.here(prev.span);
                        self.err(span, "`population` is declared twice", "second declaration")
                            .hint = Some(format!("the first is at {at}"));
                    } else {
                        self.population = Some(value);
                    }
                }
                Item::Measure { id, fields, span } => {
                    if let Some((prev, _, _)) =
                        self.measures.iter().find(|(m, _, _)| m.name == id.name)
                    {
                        let at = self.here(prev.span);
                        self.err(
                            id.span,
                            format!("duplicate measure id `{}`", id.name),
                            "already used",
                        )
                        .hint = Some(format!("the first measure `{}` is at {at}", id.name));
                        continue;
                    }
                    self.measures.push((id, fields, span));
                }
                Item::Composite { id, members, .. } => {
                    let clash = self
                        .composites
                        .iter()
                        .map(|(c, _)| c)
                        .chain(self.measures.iter().map(|(m, _, _)| m))
                        .find(|c| c.name == id.name)
                        .map(|c| c.span);
                    if let Some(prev) = clash {
                        let at = self.here(prev);
                        self.err(
                            id.span,
                            format!("duplicate id `{}`", id.name),
                            "already used",
                        )
                        .hint = Some(format!("first used at {at}"));
                        continue;
                    }
                    self.composites.push((id, members));
                }
            }
        }
    }

    fn apply_overrides(&mut self, overrides: &[(String, String)]) {
        for (name, text) in overrides {
            let Some((ident, _, current)) = self.params.get(name) else {
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
                self.err(
                    span,
                    format!("--param {name}: this pack has no parameter `{name}`"),
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
                Val::Duration(_) => parse_duration(text).map(Val::Duration),
                _ => None,
            };
            match parsed {
                Some(v) => {
                    if let Some(entry) = self.params.get_mut(name) {
                        entry.2 = v;
                    }
                }
                None => {
                    let expected = current.describe();
                    self.err(
                        span,
                        format!("--param {name}={text}: expected {expected}"),
                        "parameter declared here",
                    );
                }
            }
        }
    }

    fn name(&mut self, name: &str, span: Span) -> Val {
        match name {
            "index" => return Val::RelDate(Offset { months: 0, days: 0 }),
            "age" => return Val::Runtime(plan::Expr::Age, Ty::Num),
            "sex" => return Val::Runtime(plan::Expr::Sex, Ty::Str),
            "registered" => return Val::Runtime(plan::Expr::Registered, Ty::Bool),
            "dead" => return Val::Runtime(plan::Expr::Dead, Ty::Bool),
            "medications" => return Val::Table(Table::Medications),
            "clinical_events" => return Val::Table(Table::ClinicalEvents),
            _ => {}
        }
        if let Some((_, _, v)) = self.params.get(name) {
            return v.clone();
        }
        if let Some(d) = self.codelist_decls.get(name) {
            return d.loaded.map_or(Val::Poison, Val::Codelist);
        }
        if self.defines.contains_key(name) {
            if let Some(v) = self.resolved.get(name) {
                return v.clone();
            }
            if let Some(pos) = self.in_progress.iter().position(|n| n == name) {
                let mut chain: Vec<String> = self.in_progress[pos..].to_vec();
                chain.push(name.to_string());
                let def_span = self.defines[name].0.span;
                self.err(
                    def_span,
                    format!("definitions form a cycle: {}", chain.join(" -> ")),
                    "this definition depends on itself",
                )
                .hint = Some("a definition cannot use itself, directly or through others".into());
                self.resolved.insert(name.to_string(), Val::Poison);
                return Val::Poison;
            }
            if self.in_progress.len() >= MAX_DEFINE_DEPTH {
                self.resolved.insert(name.to_string(), Val::Poison);
                if std::mem::replace(&mut self.depth_reported, true) {
                    return Val::Poison;
                }
                let def_span = self.defines[name].0.span;
                self.err(
                    def_span,
                    format!("definitions nested more than {MAX_DEFINE_DEPTH} deep"),
                    "used through too long a chain of definitions",
                )
                .hint = Some(format!("the chain starts at `{}`", self.in_progress[0]));
                self.resolved.insert(name.to_string(), Val::Poison);
                return Val::Poison;
            }
            self.in_progress.push(name.to_string());
            let body = self.defines[name].1.clone();
            let mut v = self.expr(&body);
            if let Val::Runtime(e, _) = &v {
                let (nodes, depth) = measure_formula(e, 1, MAX_FORMULA_NODES + 1);
                if nodes > MAX_FORMULA_NODES || depth > MAX_FORMULA_DEPTH {
                    let def_span = self.defines[name].0.span;
                    self.err(def_span, format!("`{name}` is too large once the definitions it uses are expanded (limits: {MAX_FORMULA_NODES} nodes, depth {MAX_FORMULA_DEPTH})"), "here")
                        .hint = Some("a definition that uses another twice doubles in size at every step".into());
                    v = Val::Poison;
                }
            }
            self.in_progress.pop();
            // A cycle found deeper may already have poisoned this name; keep the poison.
            let v = self.resolved.get(name).cloned().unwrap_or(v);
            self.resolved.insert(name.to_string(), v.clone());
            return v;
        }
        let candidates: Vec<String> = BUILTINS
            .iter()
            .map(|s| s.to_string())
            .chain(self.params.keys().cloned())
            .chain(self.codelist_decls.keys().cloned())
            .chain(self.defines.keys().cloned())
            .collect();
        let hint = did_you_mean_hint(name, candidates.iter().map(String::as_str))
            .unwrap_or_else(|| "define it with `define`, `param` or `codelist`".into());
        self.err(
            span,
            format!("unknown name `{name}`"),
            "not defined anywhere in the rules",
        )
        .hint = Some(hint);
        Val::Poison
    }

    fn feature(&mut self, f: Feature) -> usize {
        if let Some(&i) = self.feature_ids.get(&f) {
            return i;
        }
        self.features.push(f);
        self.feature_ids.insert(f, self.features.len() - 1);
        self.features.len() - 1
    }

    fn expect_bool(&mut self, v: Val, span: Span, what: &str) -> Option<plan::Expr> {
        match v {
            Val::Runtime(e, Ty::Bool) => Some(e),
            Val::Poison => None,
            other => {
                let found = other.describe();
                self.err(
                    span,
                    format!("{what} must be a condition (true/false), found {found}"),
                    format!("this is {found}"),
                );
                None
            }
        }
    }

    fn expr(&mut self, e: &Ast) -> Val {
        match &e.kind {
            ExprKind::Number(n) => Val::Runtime(plan::Expr::Num(*n), Ty::Num),
            ExprKind::Str(s) => Val::Runtime(plan::Expr::Str(s.clone()), Ty::Str),
            ExprKind::Bool(b) => Val::Runtime(plan::Expr::Bool(*b), Ty::Bool),
            ExprKind::Duration(n, unit) => Val::Duration(Duration::of(*n, *unit)),
            ExprKind::Name(n) => self.name(n, e.span),
            ExprKind::Invalid => Val::Poison,
            ExprKind::Window(start, end) => self.window(e.span, start.as_deref(), end.as_deref()),
            ExprKind::Call {
                receiver,
                func,
                args,
            } => self.call(e.span, receiver.as_ref(), func, args),
            ExprKind::Field(base, field) => {
                let b = self.expr(base);
                match b {
                    Val::Record(f, table) => {
                        let rf = match field.name.as_str() {
                            "date" => Some((RecordField::Date, Ty::Date)),
                            "value" => Some((RecordField::Value, Ty::Num)),
                            "comparator" => Some((RecordField::Comparator, Ty::Str)),
                            _ => None,
                        };
                        match rf {
                            Some((RecordField::Value | RecordField::Comparator, _))
                                if table == Table::Medications =>
                            {
                                self.err(
                                    field.span,
                                    format!("medication records have no `{}`", field.name),
                                    "only clinical events carry a value and comparator",
                                )
                                .hint = Some("use `.date`, or query `clinical_events`".into());
                                Val::Poison
                            }
                            Some((rf, ty)) => Val::Runtime(plan::Expr::Record(f, rf), ty),
                            None => {
                                let hint =
                                    did_you_mean_hint(&field.name, ["date", "value", "comparator"])
                                        .unwrap_or_else(|| {
                                            "records have `date`, `value` and `comparator`".into()
                                        });
                                self.err(
                                    field.span,
                                    format!("records have no field `{}`", field.name),
                                    "unknown field",
                                )
                                .hint = Some(hint);
                                Val::Poison
                            }
                        }
                    }
                    Val::Poison => Val::Poison,
                    other => {
                        let found = other.describe();
                        self.err(base.span, format!("`.{}` needs a record, found {found}", field.name), format!("this is {found}")).hint =
                            Some("records come from `clinical_events.latest(...)` or `medications.latest(...)`".into());
                        Val::Poison
                    }
                }
            }
            ExprKind::Not(inner) => {
                let v = self.expr(inner);
                match self.expect_bool(v, inner.span, "the operand of `not`") {
                    Some(x) => Val::Runtime(plan::Expr::Not(Box::new(x)), Ty::Bool),
                    None => Val::Poison,
                }
            }
            ExprKind::Neg(inner) => match self.expr(inner) {
                Val::Runtime(plan::Expr::Num(n), _) => Val::Runtime(plan::Expr::Num(-n), Ty::Num),
                Val::Duration(d) => Val::Duration(Duration {
                    months: -d.months,
                    days: -d.days,
                }),
                Val::Poison => Val::Poison,
                other => {
                    let found = other.describe();
                    self.err(
                        inner.span,
                        format!("cannot negate {found}"),
                        "only number literals and durations can be negated",
                    );
                    Val::Poison
                }
            },
            ExprKind::Binary(op, l, r) => self.binary(e.span, *op, l, r),
            ExprKind::In {
                value,
                list,
                negated,
            } => {
                let v = self.expr(value);
                let Some((ve, vt)) = v.runtime() else {
                    if !matches!(v, Val::Poison) {
                        let found = v.describe();
                        self.err(
                            value.span,
                            format!("`in` needs a string or a number on its left, found {found}"),
                            format!("this is {found}"),
                        );
                    }
                    return Val::Poison;
                };
                let mut items = Vec::new();
                let mut ok = true;
                for item in list {
                    let iv = self.expr(item);
                    match iv.runtime() {
                        Some((ie, it)) if it == vt => items.push(ie),
                        Some((_, it)) => {
                            self.err(
                                item.span,
                                format!(
                                    "type mismatch: the list holds {} but the value is {}",
                                    it.name(),
                                    vt.name()
                                ),
                                format!("this is {}", it.name()),
                            );
                            ok = false;
                        }
                        None => {
                            if !matches!(iv, Val::Poison) {
                                let found = iv.describe();
                                self.err(
                                    item.span,
                                    format!("a list entry must be a value, found {found}"),
                                    format!("this is {found}"),
                                );
                            }
                            ok = false;
                        }
                    }
                }
                if !ok {
                    return Val::Poison;
                }
                let membership = plan::Expr::In(Box::new(ve), items);
                Val::Runtime(
                    if *negated {
                        plan::Expr::Not(Box::new(membership))
                    } else {
                        membership
                    },
                    Ty::Bool,
                )
            }
        }
    }

    fn binary(&mut self, span: Span, op: BinOp, l: &Ast, r: &Ast) -> Val {
        let lv = self.expr(l);
        let rv = self.expr(r);
        match op {
            BinOp::And | BinOp::Or => {
                let what = format!("each side of `{}`", op.symbol());
                let a = self.expect_bool(lv, l.span, &what);
                let b = self.expect_bool(rv, r.span, &what);
                let (Some(a), Some(b)) = (a, b) else {
                    return Val::Poison;
                };
                // Flatten chains written in one expression so the evaluator sees one n-ary
                // node, but keep a named definition as its own node: the evaluator computes a
                // shared node once per patient and date, so `base_population` used by every
                // measure costs one evaluation.
                let mut parts = Vec::new();
                for (x, side) in [(a, l), (b, r)] {
                    let named = matches!(side.kind, ExprKind::Name(_));
                    match (op, x) {
                        (BinOp::And, plan::Expr::And(v)) | (BinOp::Or, plan::Expr::Or(v))
                            if !named =>
                        {
                            parts.extend(v)
                        }
                        (BinOp::And, plan::Expr::And(v)) | (BinOp::Or, plan::Expr::Or(v)) => {
                            parts.extend(v)
                        }
                        (_, x) => parts.push(x),
                    }
                }
                Val::Runtime(
                    if op == BinOp::And {
                        plan::Expr::And(parts)
                    } else {
                        plan::Expr::Or(parts)
                    },
                    Ty::Bool,
                )
            }
            BinOp::Add | BinOp::Sub => {
                let sign = if op == BinOp::Add { 1 } else { -1 };
                match (lv, rv) {
                    (Val::RelDate(o), Val::Duration(d)) => self.shift(span, o, d, sign),
                    (Val::Duration(a), Val::Duration(b)) => Val::Duration(Duration {
                        months: a.months + sign * b.months,
                        days: a.days + sign * b.days,
                    }),
                    (Val::Runtime(plan::Expr::Num(a), _), Val::Runtime(plan::Expr::Num(b), _)) => {
                        Val::Runtime(plan::Expr::Num(a + sign as f64 * b), Ty::Num)
                    }
                    (Val::Poison, _) | (_, Val::Poison) => Val::Poison,
                    (Val::Runtime(_, Ty::Date), Val::Duration(_)) => {
                        self.err(l.span, "date arithmetic is only supported on `index`", "a record date").hint =
                            Some("compare dates directly, or move the window: `[index - 6 months, index]`".into());
                        Val::Poison
                    }
                    (a, b) => {
                        let (da, db) = (a.describe(), b.describe());
                        self.err(
                            span,
                            format!(
                                "type mismatch: cannot apply `{}` to {da} and {db}",
                                op.symbol()
                            ),
                            "here",
                        )
                        .hint = Some("dates move by durations: `index - 3 months`".into());
                        Val::Poison
                    }
                }
            }
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let cmp = match op {
                    BinOp::Eq => CmpOp::Eq,
                    BinOp::Ne => CmpOp::Ne,
                    BinOp::Lt => CmpOp::Lt,
                    BinOp::Le => CmpOp::Le,
                    BinOp::Gt => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                if matches!(lv, Val::Poison) || matches!(rv, Val::Poison) {
                    return Val::Poison;
                }
                match (lv.runtime(), rv.runtime()) {
                    (Some((a, ta)), Some((b, tb))) if ta == tb => {
                        if ta == Ty::Bool && !matches!(cmp, CmpOp::Eq | CmpOp::Ne) {
                            self.err(
                                span,
                                format!("booleans cannot be ordered with `{}`", op.symbol()),
                                "here",
                            );
                            return Val::Poison;
                        }
                        Val::Runtime(plan::Expr::Cmp(cmp, Box::new(a), Box::new(b)), Ty::Bool)
                    }
                    _ => {
                        let (da, db) = (lv.describe(), rv.describe());
                        let d = self.err(
                            span,
                            format!("type mismatch: cannot compare {da} with {db}"),
                            format!("{da} {} {db}", op.symbol()),
                        );
                        d.hint = Some("both sides of a comparison must have the same type".into());
                        Val::Poison
                    }
                }
            }
        }
    }

    fn shift(&mut self, span: Span, o: Offset, d: Duration, sign: i64) -> Val {
        let months = o.months as i64 + sign * d.months;
        let days = o.days as i64 + sign * d.days;
        let max_m = MAX_WINDOW_YEARS as i64 * 12;
        let max_d = MAX_WINDOW_YEARS as i64 * 366;
        if months.abs() > max_m || days.abs() > max_d {
            self.err(
                span,
                format!("this date is more than {MAX_WINDOW_YEARS} years from the index date"),
                "too far",
            )
            .hint = Some("for the whole record history use an open window: `[.., index]`".into());
            return Val::Poison;
        }
        Val::RelDate(Offset {
            months: months as i32,
            days: days as i32,
        })
    }

    fn window(&mut self, span: Span, start: Option<&Ast>, end: Option<&Ast>) -> Val {
        let bound = |c: &mut Self, e: Option<&Ast>| -> Result<Option<Offset>, ()> {
            let Some(e) = e else { return Ok(None) };
            match c.expr(e) {
                Val::RelDate(o) => Ok(Some(o)),
                Val::Poison => Err(()),
                other => {
                    let found = other.describe();
                    c.err(
                        e.span,
                        format!("a window bound must be a date relative to `index`, found {found}"),
                        format!("this is {found}"),
                    )
                    .hint = Some(
                        "write bounds like `index - 3 months`, or `..` for an open end".into(),
                    );
                    Err(())
                }
            }
        };
        let s = bound(self, start);
        let t = bound(self, end);
        let (Ok(s), Ok(t)) = (s, t) else {
            return Val::Poison;
        };
        if let (Some(a), Some(b)) = (s, t) {
            if window_end_before_start(a, b) {
                self.err(span, "this window ends before it starts", "empty window").hint = Some("windows are `[start, end]`, earliest first: `[index - 6 months, index - 3 months]`".into());
                return Val::Poison;
            }
        }
        Val::Window(Window { start: s, end: t })
    }

    fn call(&mut self, span: Span, receiver: Option<&Ident>, func: &Ident, args: &[Ast]) -> Val {
        let Some(recv) = receiver else {
            return match func.name.as_str() {
                "exists" => {
                    if args.len() != 1 {
                        self.err(
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
                            self.err(
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
                        self.err(
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
                            self.err(
                                span,
                                format!("type mismatch: `coalesce` of {da} and {db}"),
                                "both arguments must have the same type",
                            );
                            Val::Poison
                        }
                    }
                }
                name if METHODS.contains(&name) => {
                    self.err(func.span, format!("`{name}` needs a table"), "which table?")
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
                    self.err(
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
                self.err(
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
                self.err(
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
            self.err(
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
                    self.err(args[2].span, "the gap cannot be negative", "negative");
                    None
                }
                Val::Duration(_) => {
                    self.err(
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
                    self.err(
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
                self.err(
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
                let cl_table = self.codelists[c].table;
                if cl_table != table {
                    let name = self.codelists[c].name.clone();
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
                    self.err(
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
                self.err(
                    a.span,
                    format!("expected a codelist, found {found}"),
                    format!("this is {found}"),
                )
                .hint = Some("declare one with `codelist NAME = dmd(\"file.csv\")`".into());
                None
            }
        }
    }

    fn string_field(&mut self, id: &Ident, fields: &[syntax::Field], key: &str) -> String {
        match fields.iter().find(|f| f.key.name == key) {
            Some(f) => match &f.value.kind {
                ExprKind::Str(s) => s.clone(),
                _ => {
                    self.err(
                        f.value.span,
                        format!("`{key}` must be a string"),
                        "not a string",
                    );
                    String::new()
                }
            },
            None => {
                self.err(
                    id.span,
                    format!("measure `{}` has no `{key}`", id.name),
                    format!("add `{key} = \"...\"`"),
                );
                String::new()
            }
        }
    }

    fn lower(&mut self) -> Plan {
        let mut measures = Vec::new();
        let measure_decls = std::mem::take(&mut self.measures);
        for (id, fields, _) in &measure_decls {
            for f in fields {
                if !MEASURE_FIELDS.contains(&f.key.name.as_str()) {
                    let hint = did_you_mean_hint(&f.key.name, MEASURE_FIELDS.iter().copied())
                        .unwrap_or_else(|| format!("fields: {}", MEASURE_FIELDS.join(", ")));
                    self.err(
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
                    self.err(
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
                    self.diags.push(
                        Diagnostic::warning(
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
            let formula = |c: &mut Self, key: &str| -> Option<plan::Expr> {
                let Some(f) = fields.iter().find(|f| f.key.name == key) else {
                    c.err(
                        id.span,
                        format!("measure `{}` has no `{key}`", id.name),
                        format!("add `{key} = ...`"),
                    );
                    return None;
                };
                let v = c.expr(&f.value);
                c.expect_bool(v, f.value.span, &format!("the {key}"))
            };
            let den = formula(self, "denominator").and_then(|e| self.bounded(e, id, "denominator"));
            let num = formula(self, "numerator").and_then(|e| self.bounded(e, id, "numerator"));
            if let (Some(den), Some(num)) = (den, num) {
                let numerator = match num {
                    plan::Expr::And(mut v) => {
                        v.insert(0, den.clone());
                        plan::Expr::And(v)
                    }
                    other => plan::Expr::And(vec![den.clone(), other]),
                };
                measures.push(plan::Measure {
                    id: id.name.clone(),
                    primis,
                    title,
                    doc,
                    file: self.sources.path(id.span.file).display().to_string(),
                    denominator: den,
                    numerator,
                });
            }
        }
        self.measures = measure_decls;

        let population = match self.population.clone() {
            Some(p) => {
                let v = self.expr(&p);
                self.expect_bool(v, p.span, "the population")
                    .unwrap_or(plan::Expr::Bool(false))
                // (its size is bounded by the check on every definition it uses)
            }
            None => plan::Expr::Or(measures.iter().map(|m| m.denominator.clone()).collect()),
        };

        // Every define is checked, used or not: a broken definition is a bug waiting in the pack.
        let names: Vec<String> = self.defines.keys().cloned().collect();
        for n in names {
            let span = self.defines[&n].0.span;
            self.name(&n, span);
        }

        let composites = self.lower_composites(&measures);
        let params = self
            .params
            .iter()
            .map(|(k, (_, _, v))| (k.clone(), describe_param(v)))
            .collect();
        Plan {
            codelists: std::mem::take(&mut self.codelists),
            features: std::mem::take(&mut self.features),
            population,
            measures,
            composites,
            params,
        }
    }

    /// Reject formulas too large or deep to evaluate safely (definitions inline, so a chain of
    /// `define d2 = d1 and d1` doubles at every step).
    fn bounded(&mut self, e: plan::Expr, id: &Ident, what: &str) -> Option<plan::Expr> {
        let (nodes, depth) = measure_formula(&e, 1, MAX_FORMULA_NODES + 1);
        if nodes > MAX_FORMULA_NODES || depth > MAX_FORMULA_DEPTH {
            self.err(id.span, format!("the {what} of `{}` is too large once definitions are expanded ({} nodes, depth {depth}; limits {MAX_FORMULA_NODES} and {MAX_FORMULA_DEPTH})", id.name, if nodes > MAX_FORMULA_NODES { format!("over {MAX_FORMULA_NODES}") } else { nodes.to_string() }), "here")
                .hint = Some("simplify the definitions it uses".into());
            return None;
        }
        Some(e)
    }

    fn lower_composites(&mut self, measures: &[plan::Measure]) -> Vec<plan::Composite> {
        let decls = std::mem::take(&mut self.composites);
        let mut out = Vec::new();
        for (id, _) in &decls {
            let mut members = Vec::new();
            let mut stack = vec![id.name.clone()];
            if self.flatten(&decls, measures, id, &mut stack, &mut members) {
                let mut seen = std::collections::HashSet::new();
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
        let mut ok = true;
        for m in members {
            if let Some(i) = measures.iter().position(|x| x.id == m.name) {
                out.push(i);
            } else if decls.iter().any(|(c, _)| c.name == m.name) {
                if stack.contains(&m.name) {
                    let chain = format!("{} -> {}", stack.join(" -> "), m.name);
                    self.err(m.span, format!("composites form a cycle: {chain}"), "cycle");
                    ok = false;
                    continue;
                }
                stack.push(m.name.clone());
                ok &= self.flatten(decls, measures, m, stack, out);
                stack.pop();
            } else if self.measures.iter().any(|(x, _, _)| x.name == m.name) {
                ok = false; // the measure itself failed to compile; already reported
            } else {
                let names: Vec<String> = self
                    .measures
                    .iter()
                    .map(|(x, _, _)| x.name.clone())
                    .chain(decls.iter().map(|(c, _)| c.name.clone()))
                    .collect();
                let hint = did_you_mean_hint(&m.name, names.iter().map(String::as_str));
                self.err(
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

/// Node count (stopping early past `cap`) and depth of a formula.
fn measure_formula(e: &plan::Expr, depth: usize, cap: usize) -> (usize, usize) {
    use plan::Expr as E;
    let children: Vec<&E> = match e {
        E::Exists(x) | E::Not(x) => vec![x],
        E::Coalesce(a, b) | E::Cmp(_, a, b) => vec![a, b],
        E::And(xs) | E::Or(xs) => xs.iter().collect(),
        E::In(x, xs) => std::iter::once(&**x).chain(xs.iter()).collect(),
        _ => vec![],
    };
    let (mut nodes, mut max_depth) = (1, depth);
    for c in children {
        if nodes > cap || depth > MAX_FORMULA_DEPTH {
            break;
        }
        let (n, d) = measure_formula(c, depth + 1, cap);
        nodes += n;
        max_depth = max_depth.max(d);
    }
    (nodes, max_depth)
}

fn describe_param(v: &Val) -> String {
    match v {
        Val::Runtime(plan::Expr::Num(n), _) => n.to_string(),
        Val::Runtime(plan::Expr::Bool(b), _) => b.to_string(),
        Val::Runtime(plan::Expr::Str(s), _) => format!("{s:?}"),
        Val::Duration(d) if d.months == 0 => format!("{} days", d.days),
        Val::Duration(d) if d.days == 0 => format!("{} months", d.months),
        Val::Duration(d) => format!("{} months {} days", d.months, d.days),
        _ => "?".into(),
    }
}

fn parse_duration(text: &str) -> Option<Duration> {
    let mut parts = text.split_whitespace();
    let n: i64 = parts.next()?.parse().ok()?;
    let unit = parts.next()?;
    if parts.next().is_some() || n.abs() > 1_000_000 {
        return None;
    }
    Some(Duration::of(n, DurationUnit::from_word(unit)?))
}

/// True when, for some first-of-month index date, the window's end falls before its start.
/// Months and days do not convert exactly, so the check samples index dates across a leap
/// cycle instead of guessing a conversion.
fn window_end_before_start(a: Offset, b: Offset) -> bool {
    let Some(base) = dates::from_ymd(2000, 1, 1) else {
        return false;
    };
    (0..48).any(|m| {
        let Some(i) = dates::add_months(base, m) else {
            return false;
        };
        let at = |o: Offset| dates::add_months(i, o.months).map(|d| d + o.days);
        matches!((at(a), at(b)), (Some(x), Some(y)) if y < x)
    })
}
