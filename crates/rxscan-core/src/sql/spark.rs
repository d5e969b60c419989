//! Spark SQL's spellings (tested on Apache Spark 3.5 in local mode; the same SQL runs on
//! Databricks).

use super::dialect::{rows_text, Dialect};

pub struct Spark;

impl Dialect for Spark {
    fn name(&self) -> &'static str {
        "spark"
    }
    fn create_view(&self, name: &str, body: &str) -> String {
        format!("CREATE OR REPLACE TEMPORARY VIEW {name} AS\n{body}")
    }
    fn create_table(&self, name: &str, body: &str) -> Vec<String> {
        // A cached temporary view: computed once, eagerly, and dropped with the session.
        vec![
            format!("DROP VIEW IF EXISTS {name}"),
            format!("CACHE TABLE {name} AS\n{body}"),
        ]
    }
    fn values(&self, alias: &str, columns: &[&str], rows: &[Vec<String>]) -> String {
        format!(
            "VALUES\n    {} AS {alias}({})",
            rows_text(rows),
            columns.join(", ")
        )
    }
    fn split_codes(&self, rows: &[Vec<String>], sep: char) -> String {
        // `split` takes a regular expression: the separator as a one-character class.
        format!(
            "SELECT codelist, code FROM {}\nLATERAL VIEW explode(split(codes, {})) x AS code",
            self.values("t", &["codelist", "codes"], rows),
            self.string(&format!("[{sep}]"))
        )
    }
    fn string(&self, s: &str) -> String {
        // Spark reads backslash escapes inside literals: escape the backslash and the quote.
        let mut out = String::with_capacity(s.len() + 2);
        out.push('\'');
        for c in s.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\'' => out.push_str("\\'"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c => out.push(c),
            }
        }
        out.push('\'');
        out
    }
    fn string_type(&self) -> &'static str {
        "STRING"
    }
    fn days_between(&self, later: &str, earlier: &str) -> String {
        format!("datediff({later}, {earlier})")
    }
    fn int_div(&self, a: &str, b: &str) -> String {
        format!("({a} div {b})")
    }
}
