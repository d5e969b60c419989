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

use std::fmt::Write as _;
use std::io::{self, Write};

use rayon::prelude::*;

use crate::dates::push_iso;
use crate::evidence::{Evidence, Flagged, Row, Searched};
use crate::results::Results;

pub fn write(r: &Results, ev: Option<&Evidence>, w: &mut dyn Write) -> io::Result<()> {
    let Some(ev) = ev else { return Ok(()) };
    // Lines are built in parallel (a long-treated patient's line runs to tens of kilobytes),
    // then written in order.
    let lines: Vec<String> = ev.flagged.par_iter().map(|f| line(r, f)).collect();
    for l in lines {
        w.write_all(l.as_bytes())?;
    }
    Ok(())
}

fn line(r: &Results, f: &Flagged) -> String {
    let mut o = String::with_capacity(4096);
    o += "{\"index_date\":";
    date(&mut o, f.index_date);
    let _ = write!(
        o,
        ",\"patient_id\":{},\"practice_pseudo_id\":",
        f.patient_id
    );
    string(&mut o, &f.practice);
    o += ",\"measure\":";
    string(&mut o, &r.measures[f.trace.measure]);
    o += ",\"conditions\":[";
    for (i, c) in f.trace.conditions().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o += "{\"text\":";
        string(&mut o, &c.text);
        let _ = write!(o, ",\"holds\":{},\"rows\":[", c.value.holds());
        if !c.children.iter().any(|k| k.is_condition()) {
            for (j, x) in c.deciding_rows().into_iter().enumerate() {
                if j > 0 {
                    o.push(',');
                }
                row(&mut o, x);
            }
        }
        o += "],\"searched\":";
        match &c.searched {
            Some(s) => searched(&mut o, s),
            None => o += "null",
        }
        o += ",\"last_before\":";
        match &c.last_before {
            Some(x) => row(&mut o, x),
            None => o += "null",
        }
        o.push('}');
    }
    o += "]}\n";
    o
}

fn row(o: &mut String, r: &Row) {
    *o += "{\"table\":";
    string(o, r.table.name());
    *o += ",\"codelist\":";
    string(o, &r.codelist);
    *o += ",\"code\":";
    string(o, &r.code);
    *o += ",\"term\":";
    match &r.term {
        Some(t) => string(o, t),
        None => *o += "null",
    }
    *o += ",\"date\":";
    date(o, r.date);
    *o += ",\"value\":";
    match r.value {
        Some(v) => {
            let _ = write!(o, "{v}");
        }
        None => *o += "null",
    }
    *o += ",\"comparator\":";
    if r.comparator.is_empty() {
        *o += "null";
    } else {
        string(o, r.comparator);
    }
    o.push('}');
}

fn searched(o: &mut String, s: &Searched) {
    *o += "{\"codelist\":";
    string(o, &s.codelist);
    for (key, d) in [("from", s.from), ("to", s.to)] {
        let _ = write!(o, ",\"{key}\":");
        match d {
            Some(d) => date(o, d),
            None => *o += "null",
        }
    }
    o.push('}');
}

/// Append a day as a JSON string, `"YYYY-MM-DD"`.
fn date(o: &mut String, day: crate::dates::Day) {
    o.push('"');
    push_iso(o, day);
    o.push('"');
}

/// Append `s` as a JSON string literal.
fn string(o: &mut String, s: &str) {
    o.push('"');
    // Bytes, not chars: no byte of a multi-byte UTF-8 sequence is below 0x80. A fold without
    // an early exit, so that the compiler checks many bytes at a time.
    let plain = !s.bytes().fold(false, |bad, b| {
        bad | (b == b'"') | (b == b'\\') | (b < 0x20)
    });
    if plain {
        *o += s;
    } else {
        for c in s.chars() {
            match c {
                '"' => *o += "\\\"",
                '\\' => *o += "\\\\",
                '\n' => *o += "\\n",
                '\r' => *o += "\\r",
                '\t' => *o += "\\t",
                c if (c as u32) < 0x20 => {
                    let _ = write!(o, "\\u{:04x}", c as u32);
                }
                c => o.push(c),
            }
        }
    }
    o.push('"');
}

#[cfg(test)]
mod tests {
    #[test]
    fn strings_are_escaped() {
        let mut o = String::new();
        super::string(&mut o, "a\"b\\c\nd\u{1}e");
        assert_eq!(o, r#""a\"b\\c\nd\u0001e""#);
    }
}
