//! `evidence.jsonl`: one JSON object per flagged (index date, patient, measure), with every
//! condition of the measure's denominator and numerator that decided the verdict (parents
//! first; a branch that did not matter, like `false and ...`, is left out), whether it holds,
//! the rows that made it so, and for record queries what was searched and the last matching row
//! before the window when nothing was found (patient-level: never written under suppression).
//!
//! Rows are listed where they are read: at a record query, or a comparison of what one read
//! (`latest_egfr.value < 45`). An `and`, `or` or `not` lists none of its own; its rows are
//! those of the conditions below it, listed there (repeating them at every level made a line
//! of a long-treated patient hundreds of kilobytes).
//!
//! Written by hand rather than through serde: the shape is fixed and flat, and this keeps
//! the library's dependencies as they are.

use std::io::{self, Write};

use crate::dates::format_iso;
use crate::evidence::{Evidence, Row, Searched};
use crate::results::Results;

pub fn write(r: &Results, ev: Option<&Evidence>, w: &mut dyn Write) -> io::Result<()> {
    let Some(ev) = ev else { return Ok(()) };
    for f in &ev.flagged {
        write!(
            w,
            "{{\"index_date\":{},\"patient_id\":{},\"practice_pseudo_id\":{},\"measure\":{},\"conditions\":[",
            string(&format_iso(f.index_date)),
            f.patient_id,
            string(&f.practice),
            string(&r.measures[f.trace.measure])
        )?;
        for (i, c) in f.trace.conditions().enumerate() {
            let combines = c.children.iter().any(|k| k.is_condition());
            let rows: Vec<String> = if combines {
                Vec::new()
            } else {
                c.deciding_rows().into_iter().map(row).collect()
            };
            write!(
                w,
                "{}{{\"text\":{},\"holds\":{},\"rows\":[{}],\"searched\":{},\"last_before\":{}}}",
                if i > 0 { "," } else { "" },
                string(&c.text),
                c.value.holds(),
                rows.join(","),
                c.searched.as_ref().map_or_else(|| "null".into(), searched),
                c.last_before.as_ref().map_or_else(|| "null".into(), row),
            )?;
        }
        writeln!(w, "]}}")?;
    }
    Ok(())
}

fn row(r: &Row) -> String {
    format!(
        "{{\"table\":{},\"codelist\":{},\"code\":{},\"term\":{},\"date\":{},\"value\":{},\"comparator\":{}}}",
        string(r.table.name()),
        string(&r.codelist),
        string(&r.code),
        r.term.as_deref().map_or_else(|| "null".into(), string),
        string(&format_iso(r.date)),
        r.value.map_or_else(|| "null".into(), |v| format!("{v}")),
        if r.comparator.is_empty() { "null".into() } else { string(r.comparator) },
    )
}

fn searched(s: &Searched) -> String {
    let day = |d: Option<i32>| d.map_or_else(|| "null".into(), |d| string(&format_iso(d)));
    format!(
        "{{\"codelist\":{},\"from\":{},\"to\":{}}}",
        string(&s.codelist),
        day(s.from),
        day(s.to)
    )
}

/// A JSON string literal.
pub(super) fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out += "\\\"",
            '\\' => out += "\\\\",
            '\n' => out += "\\n",
            '\r' => out += "\\r",
            '\t' => out += "\\t",
            c if (c as u32) < 0x20 => out += &format!("\\u{:04x}", c as u32),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
