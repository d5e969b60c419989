//! DuckDB's spellings (tested against the `duckdb` Python package, version 1.1).

use super::dialect::{rows_text, Dialect};

pub struct DuckDb;

impl Dialect for DuckDb {
    fn name(&self) -> &'static str {
        "duckdb"
    }
    fn create_view(&self, name: &str, body: &str) -> String {
        format!("CREATE OR REPLACE TEMP VIEW {name} AS\n{body}")
    }
    fn create_table(&self, name: &str, body: &str) -> Vec<String> {
        vec![format!("CREATE OR REPLACE TEMP TABLE {name} AS\n{body}")]
    }
    fn values(&self, alias: &str, columns: &[&str], rows: &[Vec<String>]) -> String {
        format!(
            "(VALUES\n    {}) AS {alias}({})",
            rows_text(rows),
            columns.join(", ")
        )
    }
    fn split_codes(&self, rows: &[Vec<String>], sep: char) -> String {
        format!(
            "SELECT codelist, unnest(string_split(codes, {})) AS code FROM {}",
            self.string(&sep.to_string()),
            self.values("t", &["codelist", "codes"], rows)
        )
    }
    fn string(&self, s: &str) -> String {
        // Standard SQL: only the quote is doubled; a backslash is an ordinary character. Line
        // breaks are spelled with chr(), so no line of the script ends inside a literal.
        format!("'{}'", s.replace('\'', "''"))
            .replace('\n', "' || chr(10) || '")
            .replace('\r', "' || chr(13) || '")
    }
    fn string_type(&self) -> &'static str {
        "VARCHAR"
    }
    fn days_between(&self, later: &str, earlier: &str) -> String {
        format!("date_diff('day', {earlier}, {later})")
    }
    fn int_div(&self, a: &str, b: &str) -> String {
        format!("({a} // {b})")
    }
}
