//! What differs between SQL engines, in one place: a [`Dialect`] is asked for every piece of
//! text whose spelling is not the same in Spark SQL and DuckDB (views, inline tables, string
//! literals, day differences, integer division, the string type). Everything else the lowering
//! writes is the SQL both engines share (joins, `GROUP BY`, `row_number() OVER`, `CASE`,
//! `COALESCE`), so a new engine (T-SQL, Trino) is one more file implementing this trait.

use std::fmt::Write as _;

/// The spellings one engine needs. Every method returns SQL text; none of them may end a line
/// with `;` (the lowering ends each statement itself, so a runner can split the script).
pub trait Dialect {
    /// The name given to `--dialect`.
    fn name(&self) -> &'static str;

    /// `CREATE ... VIEW name AS body`, without the final `;`. A view that lives for the
    /// session: the script is run once, then its three result views are read.
    fn create_view(&self, name: &str, body: &str) -> String;

    /// Statements that compute `body` once and keep it under `name` for the session: the
    /// intermediate results read by several later statements (codelists, matched rows, the
    /// per-patient formulas, the counts). Without this both engines inline every view into
    /// every query that reads it, and the plans grow with the square of the pack.
    fn create_table(&self, name: &str, body: &str) -> Vec<String>;

    /// An inline table `alias(columns)` from rows of literals, for a `FROM` clause.
    fn values(&self, alias: &str, columns: &[&str], rows: &[Vec<String>]) -> String;

    /// A query with columns (`codelist`, `code`) and one row per code, from an inline table
    /// `rows` of (codelist literal, codes literal) whose codes are joined by `sep` (one
    /// character in no code). A row per code in the script itself would be one literal per
    /// code, which Spark's parser reads slowly (and again each time a view over it is read).
    fn split_codes(&self, rows: &[Vec<String>], sep: char) -> String;

    /// A string literal holding exactly `s`.
    fn string(&self, s: &str) -> String;

    /// The type of text columns, for `CAST(x AS ...)`.
    fn string_type(&self) -> &'static str;

    /// Whole days from `earlier` to `later` (an integer; negative when `later` is earlier).
    fn days_between(&self, later: &str, earlier: &str) -> String;

    /// Integer division of two non-negative integers, truncating.
    fn int_div(&self, a: &str, b: &str) -> String;

    /// A date literal.
    fn date(&self, iso: &str) -> String {
        format!("DATE '{iso}'")
    }
}

/// Rows of an inline table as `(a, b), (c, d)`, one row per line (large codelists stay
/// readable and no line grows without bound).
pub(super) fn rows_text(rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n    ");
        }
        let _ = write!(out, "({})", row.join(", "));
    }
    out
}
