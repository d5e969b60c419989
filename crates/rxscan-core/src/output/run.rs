//! `run.json`: what produced a scan's results, so that a result can be traced to it: rxscan's
//! version, the rule pack (its path, or "built-in", and a hash of its files), the parameters
//! and index dates, the mapping, each input file read (path, size, rows read and kept), the
//! columns absent, and every warning and note.
//!
//! Aggregate metadata, not patient-level: it holds no patient id, and the only counts of
//! patients it holds (in the warnings about sex values) were made under the run's suppression
//! ([`crate::scan::Scan::warnings`]); row counts of files are counts of rows, not patients.

use std::io::Write;

use serde_json::{json, Value};

use crate::dates;
use crate::extract::LoadReport;
use crate::packs::Pack;
use crate::results::Suppression;
use crate::scan::Scan;

/// The record of a run, as written to `run.json`.
#[derive(Debug, Clone)]
pub struct RunRecord(Value);

impl RunRecord {
    /// The record of a scan with `pack` (whose files are hashed here) that read what `report`
    /// says (every practice folder's, in a batch), with the warnings the scan gave
    /// ([`Scan::warnings`], under the run's suppression); under suppression the files' row
    /// counts are shown as counts are (redacted or rounded).
    pub fn new(
        pack: &Pack,
        scan: &Scan,
        report: &LoadReport,
        warnings: &[String],
        suppression: Suppression,
    ) -> std::io::Result<RunRecord> {
        // Row counts of a small file are counts of people (a practice's patients file):
        // under suppression they follow the rule every count follows.
        let count = |n: usize| match suppression {
            Suppression::None => json!(n),
            _ => match suppression.apply(n as u64) {
                Some(shown) => json!(shown),
                None => json!("[REDACTED]"),
            },
        };
        let plan = scan.plan();
        let source = match pack {
            Pack::BuiltinPincer => "built-in".to_string(),
            Pack::Dir(dir) => dir.display().to_string(),
        };
        let params: serde_json::Map<String, Value> = plan
            .params
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let inputs: Vec<Value> = report
            .inputs
            .iter()
            .map(|f| {
                json!({
                    "table": f.table,
                    "path": f.path.display().to_string(),
                    "bytes": f.bytes,
                    "rows_read": count(f.rows_read),
                    "rows_kept": count(f.rows_kept),
                })
            })
            .collect();
        let mapping = scan
            .load_options()
            .mapping
            .as_ref()
            .map(|m| m.path().display().to_string());
        Ok(RunRecord(json!({
            "rxscan_version": env!("CARGO_PKG_VERSION"),
            "rule_pack": { "source": source, "sha256": pack.fingerprint()? },
            "parameters": params,
            "index_dates": scan.dates().days().iter().map(|d| dates::format_iso(*d)).collect::<Vec<_>>(),
            "mapping": mapping,
            "inputs": inputs,
            "columns_declared_absent": report.absent,
            "optional_columns_missing": report.absent_found,
            "warnings": warnings,
            "notes": report.notes,
        })))
    }

    /// The record as JSON.
    pub fn json(&self) -> &Value {
        &self.0
    }
}

/// Write `run.json` (pretty-printed, one trailing newline).
pub(super) fn write(run: &RunRecord, w: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &run.0)?;
    writeln!(w)
}
