//! The extract in memory, as the evaluator reads it: the types a load produces, and nothing
//! that produces them.
//!
//! They sit below every phase of the loader (each phase fills part of an [`Extract`]), and the
//! evaluator and the renderers depend on them alone, not on the code that reads files.

use crate::dates::Day;
use crate::plan::Table;

/// A date that is absent (an ongoing registration, a patient who is alive).
pub const NO_DATE: Day = Day::MAX;

/// A comparator attached to a numeric value (`clinical_events.comparator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Comparator {
    None = 0,
    Approx = 1,
    Eq = 2,
    Ge = 3,
    Gt = 4,
    Lt = 5,
    Le = 6,
}

impl Comparator {
    pub fn parse(s: &str) -> Option<Comparator> {
        Some(match s {
            "" => Comparator::None,
            "~" => Comparator::Approx,
            "=" => Comparator::Eq,
            ">=" => Comparator::Ge,
            ">" => Comparator::Gt,
            "<" => Comparator::Lt,
            "<=" => Comparator::Le,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Comparator::None => "",
            Comparator::Approx => "~",
            Comparator::Eq => "=",
            Comparator::Ge => ">=",
            Comparator::Gt => ">",
            Comparator::Lt => "<",
            Comparator::Le => "<=",
        }
    }
    pub fn from_u8(v: u8) -> Comparator {
        match v {
            1 => Comparator::Approx,
            2 => Comparator::Eq,
            3 => Comparator::Ge,
            4 => Comparator::Gt,
            5 => Comparator::Lt,
            6 => Comparator::Le,
            _ => Comparator::None,
        }
    }
}

/// Sex as recorded, normalised to one letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Sex {
    Male,
    Female,
    Intersex,
    Unknown,
    /// A value outside the known spellings, or empty: not an error; the patient is in no
    /// population that asks for a sex (INDICATORS.md §7.12), and the load reports how many
    /// patients had each such value ([`LoadReport::unrecognised_sex`]).
    Unrecognised,
}

impl Sex {
    pub fn parse(s: &str) -> Option<Sex> {
        let s = s.trim();
        let is = |a: &str, b: &str| s.eq_ignore_ascii_case(a) || s.eq_ignore_ascii_case(b);
        Some(if is("m", "male") {
            Sex::Male
        } else if is("f", "female") {
            Sex::Female
        } else if is("i", "intersex") {
            Sex::Intersex
        } else if is("u", "unknown") {
            Sex::Unknown
        } else {
            return None;
        })
    }
    pub fn letter(self) -> &'static str {
        match self {
            Sex::Male => "M",
            Sex::Female => "F",
            Sex::Intersex => "I",
            Sex::Unknown => "U",
            Sex::Unrecognised => "",
        }
    }
}

/// One event table grouped by patient: rows of patient `p` are `offsets[p]..offsets[p + 1]`.
#[derive(Debug, Clone, Default)]
pub struct EventTable {
    pub offsets: Vec<usize>,
    pub code: Vec<u32>,
    pub day: Vec<Day>,
    /// `numeric_value`; `NaN` when empty (NaN is rejected on input, so it cannot be real data).
    pub value: Vec<f64>,
    pub comparator: Vec<u8>,
    /// The distinct code strings; `code` indexes into it.
    pub codes: Vec<String>,
    /// Rows kept only for evidence's "last row before the window": each patient's latest row
    /// per feature before the rows kept for counting
    /// ([`KeepCode::latest_before`](super::KeepCode::latest_before)), with the same code ids,
    /// not grouped ([`EarlierRows::of_patients`] groups some patients' rows). The evaluator
    /// never reads them.
    pub earlier: Option<Box<EarlierRows>>,
    /// Rows read from the file, before irrelevant codes were dropped.
    pub rows_read: usize,
    /// Which of the loader's paths read the rows.
    pub read_by: ReadPaths,
    /// Time to read and validate the file, and to group the kept rows by patient.
    pub read_time: std::time::Duration,
    pub group_time: std::time::Duration,
}

/// Rows of an event table in input order, not grouped by patient (`value` and `comparator`
/// empty in a medications table): what each of the loader's pieces keeps, and the rows set
/// apart as history ([`EarlierRows`]).
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pub patient: Vec<u32>,
    pub day: Vec<Day>,
    pub code: Vec<u32>,
    pub value: Vec<f64>,
    pub comparator: Vec<u8>,
}

/// A table's rows set apart as history for evidence ([`EventTable::earlier`]): in parts (one
/// per piece the loader read), in input order, not grouped by patient. Evidence needs them for
/// its flagged patients only, and groups those ([`EarlierRows::of_patients`]): grouping them
/// all cost about a third of what finding them did, and as much memory again.
#[derive(Debug, Clone, Default)]
pub struct EarlierRows {
    parts: Vec<Rows>,
    n_patients: usize,
}

impl EarlierRows {
    /// `parts` in input order, of an extract of `n_patients` patients.
    pub fn new(parts: Vec<Rows>, n_patients: usize) -> EarlierRows {
        EarlierRows { parts, n_patients }
    }

    /// How many rows are set apart.
    pub fn len(&self) -> usize {
        self.parts.iter().map(|p| p.patient.len()).sum()
    }

    /// Whether no row is set apart.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows of the patients for which `wanted` (by patient index) is true, grouped by
    /// patient as an [`EventTable`], each patient's rows in input order, with the code ids and
    /// `codes` of the table they were set apart from.
    pub fn of_patients(&self, wanted: &[bool], codes: &[String]) -> EventTable {
        use rayon::prelude::*;
        let is = |p: u32| wanted.get(p as usize).copied().unwrap_or(false);
        let mut picked: Vec<(u32, u32, u32)> = self
            .parts
            .par_iter()
            .enumerate()
            .flat_map_iter(|(k, part)| {
                part.patient
                    .iter()
                    .enumerate()
                    .filter(move |&(_, &p)| is(p))
                    .map(move |(r, &p)| (p, k as u32, r as u32))
            })
            .collect();
        // Stable: a patient's rows stay in input order.
        picked.sort_by_key(|&(p, ..)| p);
        let events = self.parts.iter().any(|p| !p.value.is_empty());
        let mut t = EventTable {
            offsets: vec![0; self.n_patients + 1],
            codes: codes.to_vec(),
            ..EventTable::default()
        };
        for &(p, k, r) in &picked {
            let (part, r) = (&self.parts[k as usize], r as usize);
            t.offsets[p as usize + 1] += 1;
            t.day.push(part.day[r]);
            t.code.push(part.code[r]);
            if events {
                t.value.push(part.value[r]);
                t.comparator.push(part.comparator[r]);
            }
        }
        for i in 0..self.n_patients {
            t.offsets[i + 1] += t.offsets[i];
        }
        t
    }
}

/// Which of the loader's paths read an event table's rows (shown by `rxscan scan --verbose`, and
/// how tests know a path was exercised): Parquet row groups decoded page by page, with their
/// data pages by encoding; CSV chunks converted by the line scanner; and batches of up to 64k
/// rows that polars parsed, read by the fast pass over its arrays or by the exact validators.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadPaths {
    pub row_groups: usize,
    pub dictionary_pages: usize,
    pub plain_pages: usize,
    pub csv_chunks: usize,
    pub fast_tasks: usize,
    pub exact_tasks: usize,
}

impl std::ops::AddAssign for ReadPaths {
    fn add_assign(&mut self, o: ReadPaths) {
        self.row_groups += o.row_groups;
        self.dictionary_pages += o.dictionary_pages;
        self.plain_pages += o.plain_pages;
        self.csv_chunks += o.csv_chunks;
        self.fast_tasks += o.fast_tasks;
        self.exact_tasks += o.exact_tasks;
    }
}

impl EventTable {
    /// Per patient index: whether the patient has a row (kept for counting) with one of
    /// `codes`.
    pub fn patients_with(&self, codes: &[String]) -> Vec<bool> {
        use rayon::prelude::*;
        let wanted: rustc_hash::FxHashSet<&str> = codes.iter().map(String::as_str).collect();
        let is: Vec<bool> = self
            .codes
            .iter()
            .map(|c| wanted.contains(c.as_str()))
            .collect();
        let n = self.offsets.len().saturating_sub(1);
        (0..n)
            .into_par_iter()
            .map(|p| self.rows(p).any(|i| is[self.code[i] as usize]))
            .collect()
    }

    pub fn rows(&self, patient: usize) -> std::ops::Range<usize> {
        self.offsets[patient]..self.offsets[patient + 1]
    }
    pub fn len(&self) -> usize {
        self.code.len()
    }
    pub fn is_empty(&self) -> bool {
        self.code.is_empty()
    }
}

/// Registrations grouped by patient, in input order within a patient.
#[derive(Debug, Clone, Default)]
pub struct Registrations {
    pub offsets: Vec<usize>,
    pub start: Vec<Day>,
    /// [`NO_DATE`] when ongoing.
    pub end: Vec<Day>,
    /// Index into [`Extract::practices`].
    pub practice: Vec<u32>,
}

/// A loaded, validated extract.
#[derive(Debug, Clone, Default)]
pub struct Extract {
    /// `patient_id` of each dense patient index, ascending.
    pub patient_ids: Vec<i64>,
    pub date_of_birth: Vec<Day>,
    pub sex: Vec<Sex>,
    /// [`NO_DATE`] when alive.
    pub date_of_death: Vec<Day>,
    pub registrations: Registrations,
    /// `practice_pseudo_id` strings, sorted (numerically when all are digits).
    pub practices: Vec<String>,
    pub medications: EventTable,
    pub clinical_events: EventTable,
    /// Rows skipped because their patient is not in `patients` (only with `skip_orphans`).
    pub orphans_skipped: Vec<(String, usize)>,
    /// When rows were kept only for a range of index dates ([`crate::scan::rows::for_dates`]): the
    /// first and last of them. Evaluating at a date outside it is refused.
    pub index_date_range: Option<(Day, Day)>,
    /// Time to load the patients and registrations tables (the event tables keep their own).
    pub patients_time: std::time::Duration,
    /// What was read, and what was found on the way (for `run.json` and the warnings).
    pub report: LoadReport,
}

/// What a load read and found, beside the data: every input file, the columns absent, notes
/// about columns matched loosely, and sex values outside the known spellings.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    pub inputs: Vec<InputFile>,
    /// `table.field` declared absent (by the mapping or `--absent`).
    pub absent: Vec<String>,
    /// `table.field` of optional columns the export does not have, undeclared
    /// (`clinical_events.comparator`).
    pub absent_found: Vec<String>,
    /// A column matched with another case or surrounding spaces, one line each.
    pub notes: Vec<String>,
    /// Each sex value outside the known spellings (empty included, as ""), with its number of
    /// patients, in order of the value.
    pub unrecognised_sex: Vec<(String, usize)>,
}

impl LoadReport {
    /// Add another extract's report (a batch scan's folders): files appended, absent columns
    /// and notes once each, counts of each unrecognised sex value summed.
    pub fn add(&mut self, other: &LoadReport) {
        self.inputs.extend(other.inputs.iter().cloned());
        for (mine, theirs) in [
            (&mut self.absent, &other.absent),
            (&mut self.absent_found, &other.absent_found),
            (&mut self.notes, &other.notes),
        ] {
            for item in theirs {
                if !mine.contains(item) {
                    mine.push(item.clone());
                }
            }
        }
        for (value, n) in &other.unrecognised_sex {
            match self.unrecognised_sex.iter_mut().find(|(v, _)| v == value) {
                Some((_, total)) => *total += n,
                None => self.unrecognised_sex.push((value.clone(), *n)),
            }
        }
        self.unrecognised_sex.sort();
    }
}

/// One input file read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    pub table: String,
    pub path: std::path::PathBuf,
    /// Size on disk (compressed, for a compressed file).
    pub bytes: u64,
    pub rows_read: usize,
    /// Rows kept in memory for the scan (every row for patients and registrations, unless
    /// skipped as orphans).
    pub rows_kept: usize,
}

impl Extract {
    pub fn n_patients(&self) -> usize {
        self.patient_ids.len()
    }
    pub fn table(&self, t: Table) -> &EventTable {
        match t {
            Table::Medications => &self.medications,
            Table::ClinicalEvents => &self.clinical_events,
        }
    }
}
