//! Output files and the terminal summary.
//!
//! Files are written into a temporary folder inside the output folder and renamed into place
//! only when all of them are complete, so an error never leaves a half-written file behind.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rxscan_core::dates;
use rxscan_core::extract::Extract;
use rxscan_core::plan::Plan;
use rxscan_core::results::{format_rate, Results, Suppression};

pub struct Progress(Option<ProgressBar>);

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        use std::io::IsTerminal;
        if quiet || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed:>3} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress(Some(bar))
    }
    pub fn stage(&self, msg: &str) {
        if let Some(b) = &self.0 {
            b.set_message(msg.to_string());
        }
    }
    pub fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

/// Writes one output file's contents.
type WriteFile<'a> = Box<dyn Fn(&mut dyn Write) -> std::io::Result<()> + 'a>;

/// Write every output file atomically; returns the paths written.
pub fn write_all(
    out: &Path,
    results: &Results,
    s: Suppression,
    patients: bool,
) -> Result<Vec<PathBuf>> {
    if out.exists() && !out.is_dir() {
        anyhow::bail!("--out {}: exists and is not a directory", out.display());
    }
    fs::create_dir_all(out)
        .with_context(|| format!("cannot create output folder {}", out.display()))?;
    let tmp = out.join(format!(".rxscan-tmp-{}", std::process::id()));
    let result = (|| -> Result<Vec<PathBuf>> {
        fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut files: Vec<(&str, WriteFile)> = vec![
            (
                "summary.csv",
                Box::new(|w: &mut dyn Write| results.write_summary(w, s)),
            ),
            (
                "composites.csv",
                Box::new(|w: &mut dyn Write| results.write_composites(w, s)),
            ),
        ];
        if patients {
            files.push((
                "patients.csv",
                Box::new(|w: &mut dyn Write| results.write_patients(w)),
            ));
        }
        for (name, write) in &files {
            let path = tmp.join(name);
            let f = fs::File::create(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut w = BufWriter::with_capacity(1 << 20, f);
            write(&mut w)
                .and_then(|_| w.flush())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        let mut done = Vec::new();
        for (name, _) in &files {
            let dest = out.join(name);
            fs::rename(tmp.join(name), &dest)
                .with_context(|| format!("cannot move result into {}", dest.display()))?;
            done.push(dest);
        }
        if !patients {
            // A stale patient list from an earlier run must not sit beside suppressed aggregates.
            let stale = out.join("patients.csv");
            if stale.exists() {
                fs::remove_file(&stale)
                    .with_context(|| format!("cannot remove stale {}", stale.display()))?;
            }
        }
        Ok(done)
    })();
    let _ = fs::remove_dir_all(&tmp);
    result
}

pub fn print_summary(
    plan: &Plan,
    ex: &Extract,
    r: &Results,
    written: &[PathBuf],
    loaded: Duration,
    evaluated: Duration,
    total: Duration,
) -> Result<()> {
    outln!(
        "rxscan: {} patients, {} practices, {} medication and {} clinical-event rows read ({} and {} matched a codelist)",
        ex.n_patients(),
        ex.practices.len(),
        ex.medications.rows_read,
        ex.clinical_events.rows_read,
        ex.medications.len(),
        ex.clinical_events.len()
    );
    let last = r.index_dates.len() - 1;
    outln!(
        "totals over all practices at {}:",
        dates::format_iso(r.index_dates[last])
    );
    outln!(
        "  {:<10} {:<7} {:>10} {:>12} {:>7}",
        "measure",
        "primis",
        "numerator",
        "denominator",
        "rate%"
    );
    for (m, measure) in plan.measures.iter().enumerate() {
        let (num, den) = r.total(last, m);
        outln!(
            "  {:<10} {:<7} {:>10} {:>12} {:>7}",
            measure.id,
            measure.primis,
            num,
            den,
            format_rate(num, den)
        );
    }
    outln!(
        "{} index date(s); load {:.2}s, evaluate {:.2}s, total {:.2}s",
        r.index_dates.len(),
        loaded.as_secs_f64(),
        (evaluated - loaded).as_secs_f64(),
        total.as_secs_f64()
    );
    for w in written {
        outln!("wrote {}", w.display());
    }
    Ok(())
}
