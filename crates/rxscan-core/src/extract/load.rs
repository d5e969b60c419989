//! The loader's orchestration, and nothing else: the patients first (every other table refers
//! to them), then the registrations, then the two event tables, each phase in its own module
//! (medications first: they can gate which patients' clinical-event history is kept,
//! [`LoadOptions::history_gate`]).

use std::path::Path;

use super::columns::check_absent;
use super::error::ExtractError;
use super::events::load_events;
use super::model::Extract;
use super::options::LoadOptions;
use super::patients::{load_patients, load_registrations};
use crate::plan::Table;

impl Extract {
    /// Read and validate an extract folder.
    pub fn load(dir: &Path, opts: &LoadOptions) -> Result<Extract, ExtractError> {
        load(dir, opts)
    }
}

fn load(dir: &Path, opts: &LoadOptions) -> Result<Extract, ExtractError> {
    let mut ex = Extract {
        index_date_range: opts.index_date_range,
        ..Extract::default()
    };
    check_absent(opts)?;
    let timer = std::time::Instant::now();
    let index = load_patients(dir, opts, &mut ex)?;
    load_registrations(dir, &index, opts, &mut ex)?;
    ex.patients_time = timer.elapsed();
    ex.medications = load_events(
        dir,
        Table::Medications,
        &index,
        opts,
        None,
        &mut ex.orphans_skipped,
        &mut ex.report,
    )?;
    // The gate of the clinical events' history: the patients with a kept row of its codes.
    let admitted = opts
        .history_gate
        .as_deref()
        .map(|codes| ex.medications.patients_with(codes));
    ex.clinical_events = load_events(
        dir,
        Table::ClinicalEvents,
        &index,
        opts,
        admitted,
        &mut ex.orphans_skipped,
        &mut ex.report,
    )?;
    Ok(ex)
}
