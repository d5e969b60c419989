//! The catalogue: every kind of diagnostic the rule compiler emits, with a stable code, a short
//! name and a doc saying what it means and how to fix it.
//!
//! One table, as ruff's `codes.rs`: a call site names its [`Code`], rendering prints it
//! (`rules.rx:3:14: error[RX022]: ...`), `docs/DIAGNOSTICS.md` is generated from [`Code::ALL`]
//! (a test fails when it drifts), and a test fails when a code has no fixture under
//! `testdata/rules-broken/`. Codes are never renumbered or reused: a retired kind keeps its
//! number out of use, and a new kind takes the next free number.
//!
//! The long texts some messages and hints share (and that would stop rustfmt from formatting
//! the statement that uses them) live at the end of this file.

use std::fmt;

macro_rules! catalogue {
    ($( $(#[$group:meta])* $variant:ident = $code:literal, $name:literal, $doc:literal; )*) => {
        /// The kind of a diagnostic: its stable code (`RX001`), name and doc.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Code {
            $( $(#[$group])* #[doc = $doc] $variant, )*
        }

        impl Code {
            /// Every code, in order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable code, e.g. `RX011`.
            pub fn code(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// A short kebab-case name, e.g. `unknown-name`.
            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// What the diagnostic means and how to fix it, in a sentence or two.
            pub fn doc(self) -> &'static str {
                match self { $(Code::$variant => $doc,)* }
            }
        }
    };
}

catalogue! {
    // Syntax: the lexer and the parser.
    UnexpectedCharacter = "RX001", "unexpected-character",
        "A character that is not part of the rule language (outside a string or comment). Delete it, or put text in quotes.";
    UnterminatedString = "RX002", "unterminated-string",
        "A `\"` string is not closed on its line. Close it with `\"`; use a `\"\"\"` block for text over several lines.";
    UnterminatedBlock = "RX003", "unterminated-block",
        "A `\"\"\"` block is never closed. Close it with `\"\"\"`.";
    UnknownEscape = "RX004", "unknown-escape",
        "A backslash escape other than `\\\"`, `\\\\` or `\\n` in a string. Use one of those three.";
    NumberOutOfRange = "RX005", "number-out-of-range",
        "A number too large to represent. Use a smaller number.";
    UnexpectedToken = "RX006", "unexpected-token",
        "The parser found something other than what the grammar allows here (the message says what it expected). Check the line for a missing or extra symbol.";
    UnclosedParen = "RX007", "unclosed-paren",
        "A `(` is not closed by a `)`. Add the `)`, or the `,` between arguments.";
    AssignmentInCondition = "RX008", "assignment-in-condition",
        "`=` used where a comparison belongs. Compare with `==`.";
    BadDuration = "RX009", "bad-duration",
        "A duration such as `3 months` whose number is not a whole number below 1000000. Write a whole number of units.";
    UnknownCodelistOption = "RX010", "unknown-codelist-option",
        "A codelist declaration has an option other than `column`. Write `dmd(\"file.csv\", column: \"name\")`.";

    // Names: what a name, function, method or field refers to.
    UnknownName = "RX011", "unknown-name",
        "A name that no `define`, `param` or `codelist` declares and that is not built in. Declare it, or fix the spelling (the hint suggests the closest name).";
    DefinedTwice = "RX012", "defined-twice",
        "Two declarations (`define`, `param` or `codelist`) share a name. Rename or remove one; the hint says where the first is.";
    BuiltinRedefined = "RX013", "builtin-redefined",
        "A declaration reuses a built-in name such as `index` or `age`. Choose another name.";
    DefinitionCycle = "RX014", "definition-cycle",
        "Definitions use each other in a circle, so none has a value. Break the cycle.";
    UnknownFunction = "RX015", "unknown-function",
        "A call of a function that does not exist. The functions are `exists` and `coalesce`; table methods are written `TABLE.method(...)`.";
    UnknownMethod = "RX016", "unknown-method",
        "A table method that does not exist. Tables have `has`, `latest` and `within`.";
    MethodNeedsTable = "RX017", "method-needs-table",
        "A table method (`has`, `latest`, `within`) called without a table. Write `medications.has(...)` or `clinical_events.has(...)`.";
    NotATable = "RX018", "not-a-table",
        "A method called on something that is not a table. Methods are called on `medications` or `clinical_events`.";
    UnknownRecordField = "RX019", "unknown-record-field",
        "A record field that does not exist. Records have `date`, `value` and `comparator`.";
    MedicationHasNoValue = "RX020", "medication-has-no-value",
        "`.value` or `.comparator` of a medication record; only clinical events carry them. Use `.date`, or query `clinical_events`.";
    UnknownCodingSystem = "RX021", "unknown-coding-system",
        "A codelist's coding system is neither `dmd` (medications) nor `snomedct` (clinical events). Use one of those.";

    // Types.
    TypeMismatch = "RX022", "type-mismatch",
        "An operator, comparison, `coalesce` or `in` list combines values of different types. Make both sides the same type.";
    NotACondition = "RX023", "not-a-condition",
        "A value used where a true/false condition is needed (a measure's numerator or denominator, the population, `and`, `or`, `not`). Compare it, or use a condition.";
    WrongArgumentCount = "RX024", "wrong-argument-count",
        "A function or method called with the wrong number of arguments. The hint shows the usage.";
    BadExistsArgument = "RX025", "bad-exists-argument",
        "`exists` given something other than a record or a value (a codelist, a window, ...). Give it a record such as `medications.latest(...)`.";
    FieldNeedsRecord = "RX026", "field-needs-record",
        "A field such as `.date` taken of something that is not a record. Records come from `TABLE.latest(...)`.";
    CannotNegate = "RX027", "cannot-negate",
        "`-` applied to something other than a number literal or a duration. Negate a number or a duration only.";
    BadInValue = "RX028", "bad-in-value",
        "The left side of `in` is not a string or a number. Test a value, such as a record's `.value`.";
    BadListEntry = "RX029", "bad-list-entry",
        "An entry of an `in [...]` list is not a value (a codelist, a window, ...). List strings or numbers.";
    BooleansNotOrdered = "RX030", "booleans-not-ordered",
        "`<`, `<=`, `>` or `>=` between true/false values. Compare booleans with `==` or `!=` only.";
    RecordDateArithmetic = "RX031", "record-date-arithmetic",
        "A duration added to or taken from a record's date; only `index` moves. Compare dates directly, or move the window.";

    // Codelists.
    ExpectedCodelist = "RX032", "expected-codelist",
        "A table method's codelist argument is not a codelist. Declare one with `codelist NAME = dmd(\"file.csv\")` and pass its name.";
    WrongCodelistTable = "RX033", "wrong-codelist-table",
        "A dm+d codelist used on `clinical_events`, or a SNOMED CT one on `medications`. Use the table that holds that coding system.";
    CodelistUnreadable = "RX034", "codelist-unreadable",
        "A codelist file cannot be read (missing, a folder, not UTF-8). Fix the path: it is relative to the folder of the rule file.";
    CodelistMissingColumn = "RX035", "codelist-missing-column",
        "A codelist file has no column of the expected name (`id` for dm+d, `code` for SNOMED CT, or the one given with `column:`). Name the column the file has.";
    CodelistBadRow = "RX036", "codelist-bad-row",
        "A row of a codelist file is malformed (the message names the line). Fix that row.";
    CodelistEmpty = "RX037", "codelist-empty",
        "A codelist file has no codes. Add the codes, or point at the right file.";

    // Windows and durations.
    ExpectedWindow = "RX038", "expected-window",
        "A table method's last argument is not a window. Write one such as `[index - 3 months, index]`.";
    BadWindowBound = "RX039", "bad-window-bound",
        "A window bound is not a date relative to `index`. Write bounds like `index - 3 months`, or `..` for an open end.";
    WindowEndBeforeStart = "RX040", "window-end-before-start",
        "A window whose end can fall before its start, so it is empty. Write `[start, end]`, earliest first.";
    DateTooFar = "RX041", "date-too-far",
        "A date more than 200 years from the index date. For the whole record history use an open window `[.., index]`.";
    BadGap = "RX042", "bad-gap",
        "The gap of `within` is not a non-negative number of days or weeks. Write a duration such as `27 days`.";

    // Limits on the size of what the compiler and evaluator accept.
    NestingTooDeep = "RX043", "nesting-too-deep",
        "An expression nested more than 64 levels deep. Split it into named `define`s.";
    DefineChainTooLong = "RX044", "define-chain-too-long",
        "A definition reached through a chain of more than 64 definitions. Shorten the chain.";
    FormulaTooLarge = "RX045", "formula-too-large",
        "A definition or measure too large once the definitions it uses are expanded (a definition using another twice doubles at every step). Simplify the definitions.";

    // Measures, composites and the population.
    DuplicateId = "RX046", "duplicate-id",
        "Two measures or composites share an id. Give each its own id; the hint says where the first is.";
    PopulationTwice = "RX047", "population-twice",
        "`population` is declared more than once. Keep one.";
    UnknownMeasureField = "RX048", "unknown-measure-field",
        "A measure has a field other than `primis`, `title`, `doc`, `denominator` and `numerator`. Remove it or fix its spelling.";
    FieldTwice = "RX049", "field-twice",
        "A measure gives the same field twice. Keep one.";
    MissingMeasureField = "RX050", "missing-measure-field",
        "A measure lacks one of `primis`, `title`, `doc`, `denominator` or `numerator`. Add it.";
    FieldNotString = "RX051", "field-not-string",
        "A measure's `primis`, `title` or `doc` is not a string. Write it in quotes.";
    UnknownMember = "RX052", "unknown-member",
        "A composite lists a member that is neither a measure nor a composite. Fix the id.";
    CompositeCycle = "RX053", "composite-cycle",
        "Composites contain each other in a circle. Break the cycle.";

    // Parameters.
    ParamNotLiteral = "RX054", "param-not-literal",
        "A `param` default that is an expression. Use a number, a string, `true`/`false` or a duration; use `define` for expressions.";
    UnknownParam = "RX055", "unknown-param",
        "`--param NAME=VALUE` names a parameter the pack does not declare. The hint lists the pack's parameters.";
    BadParamValue = "RX056", "bad-param-value",
        "`--param NAME=VALUE` gives a value that does not parse as the parameter's type (a number, `true`/`false`, a string or a duration like `27 days`).";

    // Warnings: the pack compiles, but something is missing.
    MissingDocHeadings = "RX057", "missing-doc-headings",
        "Warning: a measure's `doc` lacks some of the headings What it flags / Why it matters / Definition / References. Add them.";

    // Test files of a pack (`tests/*.toml`, run by `rxscan test`).
    TestFileSyntax = "RX058", "test-file-syntax",
        "A test file (`tests/*.toml`) is not valid TOML. Fix the line shown: strings in double quotes, lists in `[...]`, one `key = value` per line.";
    TestUnknownKey = "RX059", "test-unknown-key",
        "A test file has a key the format does not know (the hint suggests the closest). The README's \"Testing rules\" lists the keys.";
    TestBadValue = "RX060", "test-bad-value",
        "A value in a test file has the wrong shape, e.g. a medication that is not `[date, code]` or an id that is not a whole number. The message says what was expected.";
    TestBadDate = "RX061", "test-bad-date",
        "A date in a test file is neither `YYYY-MM-DD` nor relative to the index date (`I`, `I-3m`, `I-1d`), is no calendar day, or an index date is not the 1st of a month.";
    TestMissingKey = "RX062", "test-missing-key",
        "A test file lacks something it needs: an index date, patients, a patient's `id`, `sex` or `born` (unless `[defaults]` gives it), or any expectation.";
    TestUnknownMeasure = "RX063", "test-unknown-measure",
        "A test's `expect` names a measure the pack does not have. Fix the id (the hint suggests the closest).";
    TestBadOutcome = "RX064", "test-bad-outcome",
        "An expected outcome other than `numerator`, `denominator` (in the denominator, not the numerator) or `excluded` (not in the denominator).";
    TestDuplicatePatient = "RX065", "test-duplicate-patient",
        "Two patients of one test file share an `id`. Give each its own.";
    // Column mappings (`--mapping FILE.toml`): reported against the mapping file.
    MappingInvalid = "RX066", "mapping-invalid",
        "The mapping is not valid TOML, or a value has the wrong type (a column must be a string or `false`, `values.sex` a table of M/F/I/U to lists of spellings). Fix the value the caret points at.";
    MappingUnknownTable = "RX067", "mapping-unknown-table",
        "The mapping names a table that is not one of `patients`, `practice_registrations`, `medications`, `clinical_events`. Fix the spelling (the hint suggests the closest).";
    MappingUnknownField = "RX068", "mapping-unknown-field",
        "A key the mapping does not know: a field that is not in the table's contract (under `columns`), or a table key other than `file`, `date_format`, `columns`, `values`. Fix the spelling.";
    MappingColumnNotFound = "RX069", "mapping-column-not-found",
        "A mapped column (or the contract's own name, for a field the mapping does not name) is not in the header of the file actually found. Use the export's spelling (the hint suggests the closest column of the header), or `false` where the contract allows a field to be absent.";
    MappingBadDateFormat = "RX070", "mapping-bad-date-format",
        "A `date_format` that is not a chrono strftime format able to write and read back a day (it needs %Y, %m or %b, and %d). Write it like `\"%d/%m/%Y\"`.";
    MappingValuesWithoutField = "RX071", "mapping-values-without-field",
        "A `values` table for a field that has no value mapping: only `patients.sex` takes one. Remove it.";
    MappingRequiredField = "RX072", "mapping-required-field",
        "A field declared absent (`= false`) that rxscan needs: only `patients.date_of_death` and `clinical_events.comparator` may be absent. Map it to the export's column.";
    MappingFileNotFound = "RX073", "mapping-file-not-found",
        "The `file` a table's mapping names is not in the extract folder (or, for a glob, matches no file). Fix the name; it is relative to `--data`.";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Code {
    /// The code with this name or number (`RX011` or `unknown-name`), for looking one up.
    pub fn find(key: &str) -> Option<Code> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.code().eq_ignore_ascii_case(key) || c.name() == key)
    }
}

/// The Markdown table of every code, as `docs/DIAGNOSTICS.md` holds it.
pub fn markdown_table() -> String {
    let mut out = String::from("| code | name | meaning |\n|---|---|---|\n");
    for c in Code::ALL {
        let doc = c.doc().replace('|', "\\|");
        out.push_str(&format!("| {} | `{}` | {doc} |\n", c.code(), c.name()));
    }
    out
}

// Long texts, kept here so the statements that use them fit rustfmt's width.

pub(crate) const HINT_PARAM_LITERAL: &str =
    "use a number, a string, `true`/`false` or a duration like `27 days`; use `define` for expressions";
pub(crate) const HINT_DEFINE_DOUBLES: &str =
    "a definition that uses another twice doubles in size at every step";
pub(crate) const HINT_RECORD_SOURCE: &str =
    "records come from `clinical_events.latest(...)` or `medications.latest(...)`";
pub(crate) const HINT_RECORD_DATE_ARITHMETIC: &str =
    "compare dates directly, or move the window: `[index - 6 months, index]`";
pub(crate) const HINT_WINDOW_ORDER: &str =
    "windows are `[start, end]`, earliest first: `[index - 6 months, index - 3 months]`";
pub(crate) const HINT_WINDOW_BOUND: &str =
    "write bounds like `index - 3 months`, or `..` for an open end";
pub(crate) const MSG_RECORD_DATE_ARITHMETIC: &str = "date arithmetic is only supported on `index`";
pub(crate) const MSG_WINDOW_BOUND: &str = "a window bound must be a date relative to `index`";
pub(crate) const MSG_WINDOW_END_BEFORE_START: &str = "this window ends before it starts";

/// The message of [`Code::FormulaTooLarge`] for a definition.
pub(crate) fn definition_too_large(name: &str, max_nodes: usize, max_depth: usize) -> String {
    format!(
        "`{name}` is too large once the definitions it uses are expanded \
         (limits: {max_nodes} nodes, depth {max_depth})"
    )
}

/// The message of [`Code::FormulaTooLarge`] for a measure's numerator or denominator.
pub(crate) fn measure_too_large(
    what: &str,
    id: &str,
    nodes: usize,
    depth: usize,
    max_nodes: usize,
    max_depth: usize,
) -> String {
    let nodes = if nodes > max_nodes {
        format!("over {max_nodes}")
    } else {
        nodes.to_string()
    };
    format!(
        "the {what} of `{id}` is too large once definitions are expanded \
         ({nodes} nodes, depth {depth}; limits {max_nodes} and {max_depth})"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_numbered_in_order_and_names_are_unique() {
        for (i, c) in Code::ALL.iter().enumerate() {
            assert_eq!(c.code(), format!("RX{:03}", i + 1), "{c:?}");
            assert!(!c.doc().is_empty() && !c.doc().contains('\n'), "{c:?}");
            assert_eq!(Code::find(c.name()), Some(*c));
            assert_eq!(Code::find(c.code()), Some(*c));
        }
        let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Code::ALL.len(), "two codes share a name");
    }
}
