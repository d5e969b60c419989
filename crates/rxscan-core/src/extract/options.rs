//! How a load is asked for: which rows to keep, and how a CSV event table is cut for reading.
//!
//! The caller sets them (usually [`crate::scan::rows`], which plans the rows a scan needs from
//! the plan and the index dates); the loader only applies them.

use crate::dates::Day;

/// How to load an extract.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Skip (and report) event and registration rows whose patient is not in `patients`,
    /// instead of failing.
    pub skip_orphans: bool,
    /// Keep only medication rows with these codes, each dated within its span (`None`: keep
    /// every row). Other rows are still validated, then dropped.
    pub keep_medication_codes: Option<Vec<KeepCode>>,
    /// Keep only clinical-event rows with these codes and dates (`None`: keep every row).
    pub keep_event_codes: Option<Vec<KeepCode>>,
    /// The first and last index date the kept rows were chosen for, recorded in
    /// [`Extract::index_date_range`](super::Extract::index_date_range) so that evaluation at
    /// another date is refused.
    pub index_date_range: Option<(Day, Day)>,
    /// Bytes of a CSV event table mapped at a time, and per parallel chunk within that window
    /// (`None`: 256 MiB and 2 MiB). Results do not depend on them; tests set them small so that
    /// small files cross many window and chunk boundaries.
    pub csv_window_and_chunk: Option<(usize, usize)>,
    /// The practice of every registration when the registrations table has no
    /// `practice_pseudo_id` column (a batch scan gives each practice folder's name); `None`:
    /// the column is required.
    pub practice_if_no_column: Option<String>,
    /// The export's column mapping, if it is not shaped like the contract.
    pub mapping: Option<std::sync::Arc<super::mapping::Mapping>>,
    /// Fields the export does not have, declared absent, as `table.field`.
    pub absent: Vec<String>,
    /// What the caller calls these options, in the messages that point to one.
    pub names: crate::OptionNames,
    /// Medication codes that gate the clinical-event rows set apart as history
    /// ([`KeepCode::latest_before`]): when given, only patients with a medications row kept
    /// for counting with one of these codes have them (`None`: every patient). A scan tracing
    /// only flagged patients gives the codes of a prescription each of them must have
    /// ([`Scan::with_evidence`](crate::Scan::with_evidence)), and most patients' old tests are
    /// then not gathered at all.
    pub history_gate: Option<Vec<String>>,
}

/// A code worth keeping, and the inclusive span of dates in which a row with it can change a
/// result. A code listed twice keeps rows in either span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeepCode {
    pub code: String,
    pub from: Day,
    pub to: Day,
    /// Also keep, for each patient, the latest row of this group of codes (what one feature
    /// reads) among those dated before their code's span (the first in input order among rows
    /// of that day), in [`EventTable::earlier`](super::EventTable::earlier): evidence names the
    /// last matching row before a window from these and the rows kept for counting, without
    /// the loader keeping the whole record.
    pub latest_before: Option<u32>,
}

impl KeepCode {
    /// Keep every row with `code`, whatever its date.
    pub fn any_date(code: impl Into<String>) -> KeepCode {
        KeepCode {
            code: code.into(),
            from: Day::MIN,
            to: Day::MAX,
            latest_before: None,
        }
    }
}

/// Which features' rows before their windows a load keeps besides those the counting needs,
/// so that evidence can name the last matching row before a window, however old.
///
/// Not the whole record: for each patient and such feature the loader keeps only the latest
/// row of the feature's codelists dated before the feature's [`Feature::span`](crate::plan::Feature::span)
/// ([`KeepCode::latest_before`], grouped by feature), apart from the rows counting reads
/// ([`EventTable::earlier`](super::EventTable::earlier)). The last row before the
/// window at any scanned date is either one of the feature's rows kept for counting from the
/// start of its span (the windows of later dates reach back over them) or, if none is before
/// the window, that one: exact, at the cost of about one row per patient and feature, which
/// the evaluator never reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Per feature: whether its latest rows before its window are kept (absent: no).
    pub features: Vec<bool>,
}

impl History {
    /// Whether the latest rows before feature `f`'s window were kept.
    pub fn of(&self, f: usize) -> bool {
        self.features.get(f).copied().unwrap_or(false)
    }
}
