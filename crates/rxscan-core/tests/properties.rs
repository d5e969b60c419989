//! Property tests: the engine agrees with the reference evaluator (`tests/reference`) on
//! random extracts, for the PINCER pack and for random rule packs, and keeps its invariants.
//!
//! Extracts are generated as abstract specs (which anchor date, how many days off it, which
//! codelist a code comes from, ...) and resolved against the plan and the index dates, so most
//! dates fall within a few days of a window boundary and shrinking keeps failures small. They
//! are written as CSV or Parquet into a temporary folder and read with `Extract::load`, as a
//! user's files would be.
//!
//! Case counts keep the file well under two minutes in a debug build on two cores. Set
//! `RXSCAN_PROPTEST_SCALE` (a factor, e.g. `10`) to run more.

mod common;
mod reference;

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate, TimeDelta};
use polars::prelude::{Column, DataFrame, DataType, ParquetWriter};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use reference::{iso, Outcome, Patient, RawExtract, Registration, Row};
use rxscan_core::compile::{compile_sources, CompileOptions};
use rxscan_core::dates;
use rxscan_core::eval::{evaluate, EvalOptions};
use rxscan_core::extract::{Extract, LoadOptions};
use rxscan_core::plan::{Plan, Table};
use rxscan_core::results::Results;

// ---------------------------------------------------------------------------------------------
// Configuration

fn config(cases: u32) -> ProptestConfig {
    let scale = std::env::var("RXSCAN_PROPTEST_SCALE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(1.0);
    ProptestConfig {
        cases: ((cases as f64 * scale).round() as u32).max(1),
        // Failures are turned into explicit regression tests by hand, not files in the tree.
        failure_persistence: None,
        max_shrink_time: 600_000,
        max_global_rejects: 10_000,
        ..ProptestConfig::default()
    }
}

fn pincer() -> &'static Plan {
    pincer_with(0)
}

/// The shipped pack with its defaults (0), with the published `ac` precedence (1), or with
/// other thresholds (2).
fn pincer_with(params: u8) -> &'static Plan {
    static PLANS: [OnceLock<Plan>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let overrides: &[(&str, &str)] = match params {
        0 => &[],
        1 => &[("ac_literal_precedence", "true")],
        _ => &[("egfr_threshold", "30"), ("coprescription_gap", "28 days")],
    };
    PLANS[params as usize % 3].get_or_init(|| {
        let opts = CompileOptions {
            params: overrides
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        match rxscan_core::compile::compile_dir(&common::repo().join("rules/pincer"), &opts) {
            Ok(c) => c.plan,
            Err(e) => panic!(
                "the shipped pack must compile with {overrides:?}:\n{}",
                e.render(false)
            ),
        }
    })
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn day_number(d: NaiveDate) -> i32 {
    dates::parse_iso(&iso(d)).expect("a date the library accepts")
}

// ---------------------------------------------------------------------------------------------
// Abstract extract specs

/// A date: an anchor (index dates and every window boundary of the plan) plus some days, or
/// near an earlier date of the same patient and table (co-prescription gaps).
#[derive(Debug, Clone)]
enum DateSpec {
    Anchor(u8, i16),
    Near(u8, i16),
}

/// A code: from one of the table's codelists, from the other table's codelists, or from none.
/// Three groups in four come from the patient's theme, so a patient often has several codes
/// of the same few lists (two periods of methotrexate, an anticoagulant and an antiplatelet).
#[derive(Debug, Clone)]
struct CodeSpec {
    group: u8,
    idx: u16,
    padded: bool,
}

#[derive(Debug, Clone)]
struct RowSpec {
    date: DateSpec,
    code: CodeSpec,
    value: u8,
    comparator: u8,
}

#[derive(Debug, Clone)]
struct RegSpec {
    practice: u8,
    start: DateSpec,
    end: Option<DateSpec>,
    /// Start where the previous registration ended (a transfer or a restart on the same day).
    restart: bool,
}

#[derive(Debug, Clone)]
struct PatientSpec {
    age: u8,
    dob_months: i8,
    dob_day: u8,
    sex: u8,
    death: Option<DateSpec>,
    regs: Vec<RegSpec>,
    meds: Vec<RowSpec>,
    events: Vec<RowSpec>,
    jitter: u16,
    theme: [u8; 3],
}

#[derive(Debug, Clone)]
struct ExtractSpec {
    patients: Vec<PatientSpec>,
    practices: u8,
    practice_style: u8,
    /// 0 dense small ids, 1 sparse ids, 2 ids near the top of i64.
    id_style: u8,
}

const AGES: [i32; 16] = [
    16, 17, 18, 19, 40, 64, 65, 66, 74, 75, 76, 100, 119, 120, 121, 130,
];
const SEXES: [&str; 14] = [
    "M", "F", "male", "female", "Female", "MALE", "m", " f ", "I", "U", "intersex", "unknown",
    "Unknown", "F",
];
const VALUES: [Option<f64>; 16] = [
    None,
    None,
    None,
    Some(0.0),
    Some(1.0),
    Some(0.5),
    Some(29.9),
    Some(44.0),
    Some(44.99),
    Some(45.0),
    Some(45.01),
    Some(60.0),
    Some(90.0),
    Some(-3.0),
    Some(1_000_000.0),
    Some(1.0000001),
];
const COMPARATORS: [&str; 10] = ["", "", "", "~", "=", ">=", ">", "<", "<=", " < "];
/// Practice ids: numeric order differs from text order; mixed; leading zeros; the same id
/// with and without surrounding spaces (one practice once trimmed).
const PRACTICE_STYLES: [[&str; 4]; 5] = [
    ["1", "2", "10", "3"],
    ["P1", "P10", "P2", "q"],
    ["7", "X7", "12", "a-b"],
    ["0012", "12", "3", "100"],
    [" 5", "5", "6 ", "X"],
];
/// Codes in no list: among them a listed anticoagulant with a leading zero.
const OUTSIDE_CODES: [&str; 4] = ["999", "0", "1234567890123456789", "0319740004"];

fn delta() -> BoxedStrategy<i16> {
    prop_oneof![6 => -2i16..=2, 3 => -35i16..=35, 1 => -800i16..=800].boxed()
}

fn date_spec() -> BoxedStrategy<DateSpec> {
    prop_oneof![
        4 => (any::<u8>(), delta()).prop_map(|(a, d)| DateSpec::Anchor(a, d)),
        1 => (any::<u8>(), -30i16..=30).prop_map(|(r, d)| DateSpec::Near(r, d)),
    ]
    .boxed()
}

fn row_spec() -> impl Strategy<Value = RowSpec> {
    (
        date_spec(),
        any::<u8>(),
        any::<u16>(),
        prop::bool::weighted(0.05),
        any::<u8>(),
        any::<u8>(),
    )
        .prop_map(|(date, group, idx, padded, value, comparator)| RowSpec {
            date,
            code: CodeSpec { group, idx, padded },
            value,
            comparator,
        })
}

fn reg_spec() -> impl Strategy<Value = RegSpec> {
    (
        any::<u8>(),
        date_spec(),
        prop::option::weighted(0.5, date_spec()),
        prop::bool::weighted(0.3),
    )
        .prop_map(|(practice, start, end, restart)| RegSpec {
            practice,
            start,
            end,
            restart,
        })
}

fn patient_spec(max_rows: usize) -> impl Strategy<Value = PatientSpec> {
    (
        any::<u8>(),
        -1i8..=1,
        prop_oneof![4 => Just(1u8), 1 => 1u8..=31],
        any::<u8>(),
        prop::option::weighted(0.25, date_spec()),
        prop_oneof![1 => prop::collection::vec(reg_spec(), 0..=0), 6 => prop::collection::vec(reg_spec(), 1..=3)],
        prop::collection::vec(row_spec(), 0..=max_rows),
        prop::collection::vec(row_spec(), 0..=max_rows),
        any::<u16>(),
        any::<[u8; 3]>(),
    )
        .prop_map(|(age, dob_months, dob_day, sex, death, regs, meds, events, jitter, theme)| PatientSpec { age, dob_months, dob_day, sex, death, regs, meds, events, jitter, theme })
}

fn extract_spec(
    patients: std::ops::RangeInclusive<usize>,
    max_rows: usize,
) -> impl Strategy<Value = ExtractSpec> {
    (
        prop::collection::vec(patient_spec(max_rows), patients),
        1u8..=4,
        0u8..5,
        0u8..3,
    )
        .prop_map(
            |(patients, practices, practice_style, id_style)| ExtractSpec {
                patients,
                practices,
                practice_style,
                id_style,
            },
        )
}

/// Monthly index dates: the first is 2019-09-01 plus `start` months.
#[derive(Debug, Clone)]
struct DatesSpec {
    start: u8,
    count: u8,
    step: u8,
    /// Replace the first date with a day that is not the 1st (random packs only).
    odd: Option<u8>,
}

const ODD_DATES: [(i32, u32, u32); 8] = [
    (2020, 3, 31),
    (2020, 5, 31),
    (2021, 3, 30),
    (2020, 3, 29),
    (2019, 12, 31),
    (2020, 2, 29),
    (2020, 1, 15),
    (2021, 7, 31),
];

impl DatesSpec {
    fn dates(&self) -> Vec<NaiveDate> {
        let first = reference::add_months(ymd(2019, 9, 1), self.start as i32).expect("a 1st");
        let mut out: Vec<NaiveDate> = (0..self.count as i32)
            .map(|i| reference::add_months(first, i * self.step as i32).expect("a 1st"))
            .collect();
        if let Some(k) = self.odd {
            let (y, m, d) = ODD_DATES[k as usize % ODD_DATES.len()];
            out[0] = ymd(y, m, d);
        }
        out
    }
}

fn dates_spec(count: std::ops::RangeInclusive<u8>, odd: bool) -> impl Strategy<Value = DatesSpec> {
    let odd = if odd {
        prop::option::weighted(0.15, any::<u8>()).boxed()
    } else {
        Just(None).boxed()
    };
    (0u8..45, count, 1u8..=4, odd).prop_map(|(start, count, step, odd)| DatesSpec {
        start,
        count,
        step,
        odd,
    })
}

// ---------------------------------------------------------------------------------------------
// Resolving a spec into raw rows

/// What a spec is resolved against: anchor dates and code pools for each table.
struct Ctx {
    first_index: NaiveDate,
    anchors: Vec<NaiveDate>,
    medication_codes: Vec<Vec<String>>,
    event_codes: Vec<Vec<String>>,
}

impl Ctx {
    fn new(plan: &Plan, index_dates: &[NaiveDate]) -> Ctx {
        let mut offsets = Vec::new();
        reference::offsets_in(&plan.population, &mut offsets);
        for m in &plan.measures {
            reference::offsets_in(&m.denominator, &mut offsets);
            reference::offsets_in(&m.numerator, &mut offsets);
        }
        let mut anchors = Vec::new();
        for &i in index_dates {
            anchors.push(i);
            // Every month back to I-15m (the published co-prescription code splits W3 by month).
            anchors.extend((1..=15).filter_map(|k| reference::add_months(i, -k)));
            for f in &plan.features {
                if let Ok((lo, hi)) = reference::bounds(i, f.window()) {
                    anchors.extend(lo);
                    anchors.extend(hi);
                }
            }
            for &o in &offsets {
                anchors.extend(reference::shift(i, o).ok());
            }
        }
        anchors.sort();
        anchors.dedup();
        let pool = |t: Table| -> Vec<Vec<String>> {
            let mut groups: Vec<Vec<String>> = plan
                .codelists
                .iter()
                .filter(|c| c.table == t)
                .map(|c| c.codes.clone())
                .collect();
            let other: Vec<String> = plan
                .codelists
                .iter()
                .filter(|c| c.table != t)
                .flat_map(|c| c.codes.iter().cloned())
                .collect();
            if !other.is_empty() {
                groups.push(other);
            }
            groups.push(OUTSIDE_CODES.iter().map(|s| s.to_string()).collect());
            groups
        };
        Ctx {
            first_index: index_dates[0],
            anchors,
            medication_codes: pool(Table::Medications),
            event_codes: pool(Table::ClinicalEvents),
        }
    }

    fn date(&self, d: &DateSpec, earlier: &[NaiveDate]) -> NaiveDate {
        let (base, delta) = match *d {
            DateSpec::Anchor(a, delta) => (self.anchors[a as usize % self.anchors.len()], delta),
            DateSpec::Near(_, delta) if earlier.is_empty() => (self.anchors[0], delta),
            DateSpec::Near(r, delta) => (earlier[r as usize % earlier.len()], delta),
        };
        base + TimeDelta::days(delta as i64)
    }

    fn code(&self, t: Table, c: &CodeSpec, theme: [u8; 3]) -> String {
        let groups = match t {
            Table::Medications => &self.medication_codes,
            Table::ClinicalEvents => &self.event_codes,
        };
        let group = if c.group < 192 {
            theme[c.group as usize % 3]
        } else {
            c.group
        };
        let g = &groups[group as usize % groups.len()];
        let code = &g[c.idx as usize % g.len()];
        if c.padded {
            format!(" {code} ")
        } else {
            code.clone()
        }
    }

    fn resolve(&self, spec: &ExtractSpec) -> RawExtract {
        let mut raw = RawExtract::default();
        let names = &PRACTICE_STYLES[spec.practice_style as usize % PRACTICE_STYLES.len()]
            [..spec.practices.clamp(1, 4) as usize];
        for (k, p) in spec.patients.iter().enumerate() {
            let (k, jitter) = (k as i64, p.jitter as i64);
            let id = match spec.id_style {
                0 => k * 2 + jitter % 2,
                1 => k * 1000 + jitter % 1000,
                _ => 9_000_000_000_000_000 + k * 1000 + jitter % 1000,
            };
            let age = AGES[p.age as usize % AGES.len()];
            let total = self.first_index.year() * 12 + self.first_index.month0() as i32 - age * 12
                + p.dob_months as i32;
            let (y, m) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
            // Days 29-31 where the month has them (29 February in leap years), else the 28th.
            let dob = NaiveDate::from_ymd_opt(y, m, p.dob_day.clamp(1, 31) as u32)
                .unwrap_or(ymd(y, m, 28));
            let mut meds = Vec::new();
            for r in &p.meds {
                let date = self.date(&r.date, &meds);
                meds.push(date);
                raw.medications.push(Row {
                    patient_id: id,
                    date,
                    code: self.code(Table::Medications, &r.code, p.theme),
                    value: None,
                    comparator: String::new(),
                });
            }
            let mut events = Vec::new();
            for r in &p.events {
                let date = self.date(&r.date, &events);
                events.push(date);
                raw.clinical_events.push(Row {
                    patient_id: id,
                    date,
                    code: self.code(Table::ClinicalEvents, &r.code, p.theme),
                    value: VALUES[r.value as usize % VALUES.len()],
                    comparator: COMPARATORS[r.comparator as usize % COMPARATORS.len()].to_string(),
                });
            }
            let death = p.death.as_ref().map(|d| self.date(d, &meds).max(dob));
            raw.patients.push(Patient {
                id,
                date_of_birth: dob,
                sex: SEXES[p.sex as usize % SEXES.len()].to_string(),
                date_of_death: death,
            });
            let mut seen = Vec::new();
            let mut previous_end: Option<NaiveDate> = None;
            for r in &p.regs {
                let mut start = self.date(&r.start, &seen);
                if r.restart {
                    start = previous_end.unwrap_or(start);
                }
                let mut end = r.end.as_ref().map(|e| self.date(e, &seen));
                if let Some(e) = end {
                    if e < start {
                        (start, end) = (e, Some(start));
                    }
                }
                seen.push(start);
                seen.extend(end);
                previous_end = end;
                raw.registrations.push(Registration {
                    patient_id: id,
                    start,
                    end,
                    practice: names[r.practice as usize % names.len()].to_string(),
                });
            }
        }
        raw
    }
}

// ---------------------------------------------------------------------------------------------
// Shuffling

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// Every table in a random order.
fn shuffle_all(raw: &mut RawExtract, seed: u64) {
    let mut rng = SplitMix(seed);
    rng.shuffle(&mut raw.patients);
    rng.shuffle(&mut raw.registrations);
    rng.shuffle(&mut raw.medications);
    rng.shuffle(&mut raw.clinical_events);
}

/// Patients' rows interleaved at random, each patient's rows kept in their order.
fn interleave<T>(v: &mut Vec<T>, patient: impl Fn(&T) -> i64, rng: &mut SplitMix) {
    let mut keys: Vec<i64> = v.iter().map(&patient).collect();
    rng.shuffle(&mut keys);
    let mut queues: BTreeMap<i64, VecDeque<T>> = BTreeMap::new();
    for row in v.drain(..) {
        queues.entry(patient(&row)).or_default().push_back(row);
    }
    for k in keys {
        v.push(
            queues
                .get_mut(&k)
                .and_then(VecDeque::pop_front)
                .expect("one row per key"),
        );
    }
}

fn interleave_all(raw: &mut RawExtract, seed: u64) {
    let mut rng = SplitMix(seed);
    rng.shuffle(&mut raw.patients);
    interleave(&mut raw.registrations, |r| r.patient_id, &mut rng);
    interleave(&mut raw.medications, |r| r.patient_id, &mut rng);
    interleave(&mut raw.clinical_events, |r| r.patient_id, &mut rng);
}

/// Whether the order of rows may legitimately change a result: two clinical events of a
/// patient on one day with different values or comparators (`latest` takes the first in input
/// order), or two registrations with the same start and end at different practices.
fn order_sensitive(raw: &RawExtract) -> bool {
    let events = raw.clinical_events.iter().enumerate().any(|(i, a)| {
        raw.clinical_events[i + 1..].iter().any(|b| {
            a.patient_id == b.patient_id
                && a.date == b.date
                && (a.value.map(f64::to_bits) != b.value.map(f64::to_bits)
                    || a.comparator.trim() != b.comparator.trim())
        })
    });
    let regs = raw.registrations.iter().enumerate().any(|(i, a)| {
        raw.registrations[i + 1..].iter().any(|b| {
            a.patient_id == b.patient_id
                && a.start == b.start
                && a.end == b.end
                && a.practice.trim() != b.practice.trim()
        })
    });
    events || regs
}

// ---------------------------------------------------------------------------------------------
// Writing extracts

#[derive(Debug, Clone, Copy)]
struct Format {
    parquet: bool,
    /// Bits: 1 ids as strings (Parquet), 2 dates as strings (Parquet), 4 an extra column,
    /// 8 leave out optional columns when they are empty, 16 empty comparators as null
    /// (Parquet), 32 numbers in exponent notation (CSV), 64 zero-padded patient ids (CSV),
    /// 128 CRLF line ends (CSV), 256 a byte-order mark (CSV), 512 every field quoted (CSV),
    /// 1024 no line end after the last record (CSV), 2048 a line break inside the quoted extra
    /// column (CSV).
    flavour: u16,
}

impl Format {
    const CSV: Format = Format {
        parquet: false,
        flavour: 0,
    };
    fn bit(self, b: u16) -> bool {
        self.flavour & b != 0
    }
}

fn format_strategy() -> impl Strategy<Value = Format> {
    (prop::bool::weighted(0.3), any::<u16>())
        .prop_map(|(parquet, flavour)| Format { parquet, flavour })
}

fn opt_iso(d: Option<NaiveDate>) -> String {
    d.map(iso).unwrap_or_default()
}

fn number(v: Option<f64>, exponent: bool) -> String {
    match v {
        Some(v) if exponent => format!("{v:e}"),
        Some(v) => v.to_string(),
        None => String::new(),
    }
}

fn write_csv(path: &Path, header: &[&str], rows: impl Iterator<Item = Vec<String>>, f: Format) {
    let extra = f.bit(4);
    let mut w = csv::WriterBuilder::new()
        .terminator(if f.bit(128) {
            csv::Terminator::CRLF
        } else {
            csv::Terminator::Any(b'\n')
        })
        .quote_style(if f.bit(512) {
            csv::QuoteStyle::Always
        } else {
            csv::QuoteStyle::Necessary
        })
        .from_writer(Vec::new());
    let mut h: Vec<&str> = header.to_vec();
    if extra {
        h.insert(0, "note");
    }
    w.write_record(&h).expect("write header");
    for mut r in rows {
        if extra {
            r.insert(
                0,
                if f.bit(2048) { "x\n\"y\"" } else { "x,\"y\"" }.to_string(),
            );
        }
        w.write_record(&r).expect("write row");
    }
    let mut bytes = w.into_inner().expect("csv bytes");
    if f.bit(1024) {
        while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            bytes.pop();
        }
    }
    if f.bit(256) {
        bytes.splice(0..0, "\u{feff}".bytes());
    }
    std::fs::write(path, bytes).expect("write csv");
}

fn date_column(name: &str, v: Vec<Option<NaiveDate>>, as_string: bool) -> Column {
    if as_string {
        Column::new(
            name.into(),
            v.into_iter()
                .map(|d| d.map(iso))
                .collect::<Vec<Option<String>>>(),
        )
    } else {
        let days: Vec<Option<i32>> = v
            .into_iter()
            .map(|d| d.map(|d| (d - ymd(1970, 1, 1)).num_days() as i32))
            .collect();
        Column::new(name.into(), days)
            .cast(&DataType::Date)
            .expect("cast to Date")
    }
}

fn id_column(name: &str, v: Vec<i64>, as_string: bool) -> Column {
    if as_string {
        Column::new(
            name.into(),
            v.into_iter()
                .map(|i| i.to_string())
                .collect::<Vec<String>>(),
        )
    } else {
        Column::new(name.into(), v)
    }
}

fn write_parquet(path: &Path, mut columns: Vec<Column>, extra: bool) {
    let height = columns.first().map_or(0, |c| c.len());
    if extra {
        columns.insert(0, Column::new("note".into(), vec![1.5f64; height]));
    }
    let mut df = DataFrame::new(height, columns).expect("data frame");
    let file = std::fs::File::create(path).expect("create parquet");
    ParquetWriter::new(file)
        .finish(&mut df)
        .expect("write parquet");
}

fn write_extract(raw: &RawExtract, dir: &Path, f: Format) {
    let extra = f.bit(4);
    let with_death = !(f.bit(8) && raw.patients.iter().all(|p| p.date_of_death.is_none()));
    let with_comparator = !(f.bit(8)
        && raw
            .clinical_events
            .iter()
            .all(|r| r.comparator.trim().is_empty()));
    if !f.parquet {
        let pid = |id: i64| {
            if f.bit(64) {
                format!("{id:020}")
            } else {
                id.to_string()
            }
        };
        let mut h = vec!["patient_id", "date_of_birth", "sex"];
        if with_death {
            h.push("date_of_death");
        }
        write_csv(
            &dir.join("patients.csv"),
            &h,
            raw.patients.iter().map(|p| {
                let mut r = vec![pid(p.id), iso(p.date_of_birth), p.sex.clone()];
                if with_death {
                    r.push(opt_iso(p.date_of_death));
                }
                r
            }),
            f,
        );
        write_csv(
            &dir.join("practice_registrations.csv"),
            &["patient_id", "start_date", "end_date", "practice_pseudo_id"],
            raw.registrations.iter().map(|r| {
                vec![
                    pid(r.patient_id),
                    iso(r.start),
                    opt_iso(r.end),
                    r.practice.clone(),
                ]
            }),
            f,
        );
        write_csv(
            &dir.join("medications.csv"),
            &["patient_id", "date", "dmd_code"],
            raw.medications
                .iter()
                .map(|r| vec![pid(r.patient_id), iso(r.date), r.code.clone()]),
            f,
        );
        let mut h = vec!["patient_id", "date", "snomedct_code", "numeric_value"];
        if with_comparator {
            h.push("comparator");
        }
        write_csv(
            &dir.join("clinical_events.csv"),
            &h,
            raw.clinical_events.iter().map(|r| {
                let mut row = vec![
                    pid(r.patient_id),
                    iso(r.date),
                    r.code.clone(),
                    number(r.value, f.bit(32)),
                ];
                if with_comparator {
                    row.push(r.comparator.clone());
                }
                row
            }),
            f,
        );
        return;
    }
    let (ids_str, dates_str) = (f.bit(1), f.bit(2));
    let mut cols = vec![
        id_column(
            "patient_id",
            raw.patients.iter().map(|p| p.id).collect(),
            ids_str,
        ),
        date_column(
            "date_of_birth",
            raw.patients.iter().map(|p| Some(p.date_of_birth)).collect(),
            dates_str,
        ),
        Column::new(
            "sex".into(),
            raw.patients
                .iter()
                .map(|p| p.sex.clone())
                .collect::<Vec<String>>(),
        ),
    ];
    if with_death {
        cols.push(date_column(
            "date_of_death",
            raw.patients.iter().map(|p| p.date_of_death).collect(),
            dates_str,
        ));
    }
    write_parquet(&dir.join("patients.parquet"), cols, extra);
    let numeric_practices = raw.registrations.iter().all(|r| {
        !r.practice.is_empty()
            && !r.practice.starts_with('0')
            && r.practice.bytes().all(|b| b.is_ascii_digit())
    });
    let practice = if numeric_practices && !ids_str {
        Column::new(
            "practice_pseudo_id".into(),
            raw.registrations
                .iter()
                .map(|r| r.practice.parse::<i64>().expect("digits"))
                .collect::<Vec<i64>>(),
        )
    } else {
        Column::new(
            "practice_pseudo_id".into(),
            raw.registrations
                .iter()
                .map(|r| r.practice.clone())
                .collect::<Vec<String>>(),
        )
    };
    write_parquet(
        &dir.join("practice_registrations.parquet"),
        vec![
            id_column(
                "patient_id",
                raw.registrations.iter().map(|r| r.patient_id).collect(),
                ids_str,
            ),
            date_column(
                "start_date",
                raw.registrations.iter().map(|r| Some(r.start)).collect(),
                dates_str,
            ),
            date_column(
                "end_date",
                raw.registrations.iter().map(|r| r.end).collect(),
                dates_str,
            ),
            practice,
        ],
        extra,
    );
    write_parquet(
        &dir.join("medications.parquet"),
        vec![
            id_column(
                "patient_id",
                raw.medications.iter().map(|r| r.patient_id).collect(),
                ids_str,
            ),
            date_column(
                "date",
                raw.medications.iter().map(|r| Some(r.date)).collect(),
                dates_str,
            ),
            Column::new(
                "dmd_code".into(),
                raw.medications
                    .iter()
                    .map(|r| r.code.clone())
                    .collect::<Vec<String>>(),
            ),
        ],
        extra,
    );
    let mut cols = vec![
        id_column(
            "patient_id",
            raw.clinical_events.iter().map(|r| r.patient_id).collect(),
            ids_str,
        ),
        date_column(
            "date",
            raw.clinical_events.iter().map(|r| Some(r.date)).collect(),
            dates_str,
        ),
        Column::new(
            "snomedct_code".into(),
            raw.clinical_events
                .iter()
                .map(|r| r.code.clone())
                .collect::<Vec<String>>(),
        ),
        Column::new(
            "numeric_value".into(),
            raw.clinical_events
                .iter()
                .map(|r| r.value)
                .collect::<Vec<Option<f64>>>(),
        ),
    ];
    if with_comparator {
        let null_empty = f.bit(16);
        cols.push(Column::new(
            "comparator".into(),
            raw.clinical_events
                .iter()
                .map(|r| {
                    if null_empty && r.comparator.is_empty() {
                        None
                    } else {
                        Some(r.comparator.clone())
                    }
                })
                .collect::<Vec<Option<String>>>(),
        ));
    }
    write_parquet(&dir.join("clinical_events.parquet"), cols, extra);
}

// ---------------------------------------------------------------------------------------------
// Running the engine and comparing

/// Load as a library user may: every code (`keep_all_codes`), the plan's codes at any date, or
/// (given the index dates, as `rxscan scan` does) only rows dated where some window can see
/// them at those dates.
fn load(plan: &Plan, dir: &Path, keep_all_codes: bool, at: Option<&[NaiveDate]>) -> Extract {
    let opts = match (keep_all_codes, at) {
        (true, _) => LoadOptions::default(),
        (false, None) => rxscan_core::scan::rows::for_any_date(plan),
        (false, Some(dates)) => {
            let days = dates.iter().map(|&d| day_number(d));
            rxscan_core::scan::rows::for_dates(
                plan,
                &rxscan_core::IndexDates::any_days(days).expect("dates"),
            )
        }
    };
    Extract::load(dir, &opts).unwrap_or_else(|e| panic!("the generated extract must load: {e}"))
}

fn run(plan: &Plan, ex: &Extract, index_dates: &[NaiveDate]) -> Result<Results, String> {
    let days: Vec<i32> = index_dates.iter().map(|&d| day_number(d)).collect();
    evaluate(plan, ex, &days, &EvalOptions { patient_rows: true }).map_err(|e| e.to_string())
}

fn scan(
    plan: &Plan,
    raw: &RawExtract,
    index_dates: &[NaiveDate],
    f: Format,
    keep_all_codes: bool,
) -> Result<Results, String> {
    let dir = tempfile::tempdir().expect("tempdir");
    write_extract(raw, dir.path(), f);
    run(
        plan,
        &load(plan, dir.path(), keep_all_codes, Some(index_dates)),
        index_dates,
    )
}

/// The engine's results in the reference's shape. Every non-zero number is kept, so a count
/// at a practice the reference does not list shows up as a difference.
fn outcome(r: &Results) -> Outcome {
    let mut out = Outcome::default();
    let np = r.practices.len();
    let nc = r.composites.len();
    for (d, &day) in r.index_dates.iter().enumerate() {
        let date = dates::format_iso(day);
        for (p, practice) in r.practices.iter().enumerate() {
            let pop = r.population[d * np + p];
            if pop > 0 {
                out.population.insert((date.clone(), practice.clone()), pop);
            }
            for (m, id) in r.measures.iter().enumerate() {
                let (num, den) = r.count(d, p, m);
                if pop > 0 || num > 0 || den > 0 {
                    out.counts
                        .insert((date.clone(), practice.clone(), id.clone()), (num, den));
                }
            }
            for (c, (id, members)) in r.composites.iter().enumerate() {
                let k = (d * np + p) * nc + c;
                let all =
                    &r.composite_histogram[k * (r.max_members + 1)..(k + 1) * (r.max_members + 1)];
                // Slots past the composite's own members must stay empty; keep them if not.
                let used = if all[members + 1..].iter().any(|&n| n > 0) {
                    all.len()
                } else {
                    members + 1
                };
                let den = r.composite_denominators[k];
                if pop > 0 || den > 0 || all.iter().any(|&n| n > 0) {
                    out.composites.insert(
                        (date.clone(), practice.clone(), id.clone()),
                        (den, all[..used].to_vec()),
                    );
                }
            }
        }
    }
    for f in &r.patient_rows {
        out.patients.insert(
            (
                dates::format_iso(r.index_dates[f.date as usize]),
                r.patient_ids[f.patient as usize],
                r.measures[f.measure as usize].clone(),
            ),
            (r.practices[f.practice as usize].clone(), f.numerator),
        );
    }
    out
}

fn diff_map<K: Ord + std::fmt::Debug, V: PartialEq + std::fmt::Debug>(
    name: &str,
    a: &BTreeMap<K, V>,
    b: &BTreeMap<K, V>,
    out: &mut Vec<String>,
) {
    let mut n = 0;
    for (k, v) in a {
        match b.get(k) {
            Some(w) if w == v => {}
            Some(w) => {
                n += 1;
                if n <= 15 {
                    out.push(format!("  {name} {k:?}: engine {v:?}, reference {w:?}"));
                }
            }
            None => {
                n += 1;
                if n <= 15 {
                    out.push(format!("  {name} {k:?}: engine {v:?}, reference (none)"));
                }
            }
        }
    }
    for (k, w) in b {
        if !a.contains_key(k) {
            n += 1;
            if n <= 15 {
                out.push(format!("  {name} {k:?}: engine (none), reference {w:?}"));
            }
        }
    }
    if n > 15 {
        out.push(format!("  ... {} more {name} differences", n - 15));
    }
}

/// A readable list of the differences between two outcomes.
fn diff(a: &Outcome, b: &Outcome) -> String {
    let mut out = Vec::new();
    diff_map("patient", &a.patients, &b.patients, &mut out);
    diff_map("population", &a.population, &b.population, &mut out);
    diff_map("count", &a.counts, &b.counts, &mut out);
    diff_map("composite", &a.composites, &b.composites, &mut out);
    if a.numerator_outside_denominator != b.numerator_outside_denominator {
        out.push(format!(
            "  numerator outside denominator: {:?} vs {:?}",
            a.numerator_outside_denominator, b.numerator_outside_denominator
        ));
    }
    out.join("\n")
}

fn agree(
    engine: &Result<Outcome, String>,
    reference: &Result<Outcome, String>,
    what: &str,
) -> Result<(), TestCaseError> {
    match (engine, reference) {
        (Ok(a), Ok(b)) => prop_assert!(
            a == b,
            "{what}: engine and reference disagree\n{}",
            diff(a, b)
        ),
        (Err(_), Err(_)) => {}
        (Ok(_), Err(e)) => prop_assert!(
            false,
            "{what}: the reference fails ({e}) but the engine returns results"
        ),
        (Err(e), Ok(_)) => prop_assert!(
            false,
            "{what}: the engine fails ({e}) but the reference returns results"
        ),
    }
    Ok(())
}

fn same(a: &Outcome, b: &Outcome, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(a == b, "{what}\n{}", diff(a, b));
    Ok(())
}

/// Counting invariants of one outcome: numerators within denominators, every denominator
/// within the population, composite histograms adding up to their denominators, and the
/// patient rows adding up to the counts.
fn consistent(o: &Outcome) -> Result<(), TestCaseError> {
    prop_assert!(
        o.numerator_outside_denominator.is_empty(),
        "numerator without denominator: {:?}",
        o.numerator_outside_denominator
    );
    let mut from_rows: BTreeMap<(String, String, String), (u64, u64)> = BTreeMap::new();
    for ((date, _, measure), (practice, num)) in &o.patients {
        let e = from_rows
            .entry((date.clone(), practice.clone(), measure.clone()))
            .or_default();
        e.0 += *num as u64;
        e.1 += 1;
    }
    for (k, &(num, den)) in &o.counts {
        prop_assert!(num <= den, "{k:?}: numerator {num} > denominator {den}");
        let pop = o
            .population
            .get(&(k.0.clone(), k.1.clone()))
            .copied()
            .unwrap_or(0);
        prop_assert!(den <= pop, "{k:?}: denominator {den} > population {pop}");
        prop_assert_eq!(
            from_rows.get(k).copied().unwrap_or((0, 0)),
            (num, den),
            "{:?}: patient rows do not add up to the counts",
            k
        );
    }
    for (k, (den, hist)) in &o.composites {
        let pop = o
            .population
            .get(&(k.0.clone(), k.1.clone()))
            .copied()
            .unwrap_or(0);
        prop_assert!(
            *den <= pop,
            "{k:?}: composite denominator {den} > population {pop}"
        );
        prop_assert_eq!(
            hist.iter().sum::<u64>(),
            *den,
            "{:?}: histogram {:?} does not add up to the denominator",
            k,
            hist
        );
    }
    Ok(())
}

/// The documented layout of results: patient ids ascending, practices in their documented
/// order (numeric when every id is digits, else text; ids trimmed), patient rows sorted by
/// date, patient and measure.
fn layout(r: &Results, raw: &RawExtract) -> Result<(), TestCaseError> {
    let mut ids: Vec<i64> = raw.patients.iter().map(|p| p.id).collect();
    ids.sort_unstable();
    prop_assert_eq!(&r.patient_ids, &ids);
    let mut practices: Vec<String> = raw
        .registrations
        .iter()
        .map(|r| r.practice.trim().to_string())
        .collect();
    practices.sort();
    practices.dedup();
    if practices
        .iter()
        .all(|p| !p.is_empty() && p.len() < 19 && p.bytes().all(|b| b.is_ascii_digit()))
    {
        practices.sort_by_key(|p| (p.parse::<u64>().expect("digits"), p.clone()));
    }
    prop_assert_eq!(&r.practices, &practices);
    prop_assert!(
        r.patient_rows
            .windows(2)
            .all(|w| (w[0].date, w[0].patient, w[0].measure)
                < (w[1].date, w[1].patient, w[1].measure)),
        "patient rows out of order"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The PINCER pack

/// The composites of the shipped pack are those of INDICATORS.md §5.
#[test]
fn pincer_composites_are_the_specified_ones() {
    let plan = pincer();
    let members = |id: &str| -> Vec<&str> {
        let c = plan
            .composites
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no composite {id}"));
        c.members
            .iter()
            .map(|&m| plan.measures[m].id.as_str())
            .collect()
    };
    assert_eq!(members("gi_bleed"), ["a", "b", "c", "d", "e", "f"]);
    assert_eq!(members("other_prescribing"), ["g", "i", "k"]);
    assert_eq!(
        members("monitoring"),
        ["ac", "me_no_fbc", "me_no_lft", "li", "am"]
    );
    assert_eq!(
        members("all"),
        [
            "a",
            "b",
            "c",
            "d",
            "e",
            "f",
            "g",
            "i",
            "k",
            "ac",
            "me_no_fbc",
            "me_no_lft",
            "li",
            "am"
        ]
    );
    assert_eq!(plan.composites.len(), 4);
}

#[derive(Debug, Clone)]
struct PincerCase {
    extract: ExtractSpec,
    dates: DatesSpec,
    format: Format,
    shuffle: Option<u64>,
    keep_all_codes: bool,
    /// See [`pincer_with`].
    params: u8,
}

fn pincer_case(patients: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = PincerCase> {
    (
        extract_spec(patients, 8),
        dates_spec(1..=3, false),
        format_strategy(),
        prop::option::weighted(0.3, any::<u64>()),
        prop::bool::weighted(0.2),
        prop_oneof![3 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
    )
        .prop_map(
            |(extract, dates, format, shuffle, keep_all_codes, params)| PincerCase {
                extract,
                dates,
                format,
                shuffle,
                keep_all_codes,
                params,
            },
        )
}

fn pincer_raw(case: &PincerCase) -> (Vec<NaiveDate>, RawExtract) {
    let dates = case.dates.dates();
    let raw = Ctx::new(pincer_with(case.params), &dates).resolve(&case.extract);
    (dates, raw)
}

proptest! {
    #![proptest_config(config(128))]

    /// Every patient flag, count and composite histogram of the PINCER pack (with its default
    /// parameters or overridden ones), engine against reference, on CSV or Parquet, rows in
    /// order or shuffled.
    #[test]
    fn pincer_engine_agrees_with_reference(case in pincer_case(1..=60)) {
        let plan = pincer_with(case.params);
        let (dates, mut raw) = pincer_raw(&case);
        if let Some(seed) = case.shuffle {
            shuffle_all(&mut raw, seed);
        }
        let results = scan(plan, &raw, &dates, case.format, case.keep_all_codes);
        if let Ok(r) = &results {
            layout(r, &raw)?;
        }
        let engine = results.map(|r| outcome(&r));
        let reference = reference::evaluate(plan, &raw, &dates);
        agree(&engine, &reference, "PINCER")?;
        if let Ok(o) = &engine {
            consistent(o)?;
        }
    }

}

proptest! {
    #![proptest_config(config(48))]

    /// Reordering rows never changes a result: interleaving patients (each patient's rows in
    /// their order) changes nothing at all; a full shuffle changes nothing unless a same-day
    /// tie makes the order matter (`latest`, practice attribution), and always agrees with the
    /// reference over the shuffled rows.
    #[test]
    fn shuffling_rows_changes_nothing(case in pincer_case(1..=40), seed in any::<u64>()) {
        let plan = pincer();
        let (dates, raw) = pincer_raw(&case);
        let base = outcome(&scan(plan, &raw, &dates, Format::CSV, false).expect("1st-of-month dates"));
        let mut interleaved = raw.clone();
        interleave_all(&mut interleaved, seed);
        same(&outcome(&scan(plan, &interleaved, &dates, case.format, false).expect("scan")), &base, "interleaving patients' rows changed the results")?;
        let mut shuffled = raw.clone();
        shuffle_all(&mut shuffled, seed);
        let got = outcome(&scan(plan, &shuffled, &dates, case.format, false).expect("scan"));
        if !order_sensitive(&raw) {
            same(&got, &base, "shuffling rows changed the results")?;
        }
        agree(&Ok(got), &reference::evaluate(plan, &shuffled, &dates), "shuffled PINCER")?;
    }

    /// Patients registered at a single practice, scanned practice by practice, give the same
    /// per-practice results as scanned together.
    #[test]
    fn splitting_by_practice_changes_nothing(case in pincer_case(1..=40)) {
        let plan = pincer();
        let (dates, raw) = pincer_raw(&case);
        let mut by_practice: BTreeMap<String, RawExtract> = BTreeMap::new();
        let mut whole = RawExtract::default();
        for p in &raw.patients {
            let regs: Vec<&Registration> = raw.registrations.iter().filter(|r| r.patient_id == p.id).collect();
            let Some(first) = regs.first() else { continue };
            if regs.iter().any(|r| r.practice.trim() != first.practice.trim()) {
                continue;
            }
            for part in [by_practice.entry(first.practice.trim().to_string()).or_default(), &mut whole] {
                part.patients.push(p.clone());
                part.registrations.extend(regs.iter().map(|&r| r.clone()));
                part.medications.extend(raw.medications.iter().filter(|r| r.patient_id == p.id).cloned());
                part.clinical_events.extend(raw.clinical_events.iter().filter(|r| r.patient_id == p.id).cloned());
            }
        }
        prop_assume!(!whole.patients.is_empty());
        let together = outcome(&scan(plan, &whole, &dates, case.format, false).expect("scan"));
        let mut apart = Outcome::default();
        for part in by_practice.values() {
            let o = outcome(&scan(plan, part, &dates, case.format, false).expect("scan"));
            apart.patients.extend(o.patients);
            apart.population.extend(o.population);
            apart.counts.extend(o.counts);
            apart.composites.extend(o.composites);
        }
        same(&apart, &together, "scanning practice by practice differs from scanning the whole")?;
    }

}

proptest! {
    #![proptest_config(config(64))]

    /// CSV and Parquet of the same rows give identical results (to the last field), and
    /// dropping the codes no codelist uses while loading changes nothing.
    #[test]
    fn csv_and_parquet_agree(case in pincer_case(1..=40), flavour in any::<u16>()) {
        let plan = pincer();
        let (dates, raw) = pincer_raw(&case);
        let csv = scan(plan, &raw, &dates, Format::CSV, false).expect("scan");
        let parquet = scan(plan, &raw, &dates, Format { parquet: true, flavour }, false).expect("scan");
        prop_assert_eq!(format!("{csv:?}"), format!("{parquet:?}"), "CSV and Parquet differ");
        let all_codes = scan(plan, &raw, &dates, Format { parquet: false, flavour }, true).expect("scan");
        prop_assert_eq!(outcome(&csv), outcome(&all_codes), "keeping every code changed the results");
    }

}

proptest! {
    #![proptest_config(config(48))]

    /// Scanning a series of index dates at once gives what scanning each date alone gives.
    #[test]
    fn series_equals_each_date_alone(case in pincer_case(1..=40), count in 2u8..=5) {
        let plan = pincer();
        let dates = DatesSpec { count, ..case.dates.clone() }.dates();
        let raw = Ctx::new(plan, &dates).resolve(&case.extract);
        let dir = tempfile::tempdir().expect("tempdir");
        write_extract(&raw, dir.path(), case.format);
        let ex = load(plan, dir.path(), false, None);
        // Together: only the rows the series can see (as `rxscan scan` loads); alone: all rows.
        let ex_at = load(plan, dir.path(), false, Some(&dates));
        let together = outcome(&run(plan, &ex_at, &dates).expect("scan"));
        let mut alone = Outcome::default();
        for d in &dates {
            let o = outcome(&run(plan, &ex, std::slice::from_ref(d)).expect("scan"));
            alone.patients.extend(o.patients);
            alone.population.extend(o.population);
            alone.counts.extend(o.counts);
            alone.composites.extend(o.composites);
        }
        same(&together, &alone, "a series of dates differs from each date alone")?;
    }
}

proptest! {
    #![proptest_config(config(4))]

    /// Thread count changes nothing. The engine splits patients into chunks of 2048, so the
    /// extract is made of copies of a few generated patients, several thousand in all; the
    /// copies also give a second invariant: k copies of every patient multiply every count by k.
    #[test]
    fn thread_count_changes_nothing(spec in extract_spec(10..=25, 16), dates in dates_spec(1..=3, false)) {
        let plan = pincer();
        let dates = dates.dates();
        let one = Ctx::new(plan, &dates).resolve(&ExtractSpec { id_style: 0, ..spec });
        // Enough copies for several evaluation chunks and, mostly, more rows in a table than
        // the loader converts in one task (65,536).
        let rows = one.medications.len().max(one.clinical_events.len()).max(1);
        let copies = (70_000 / rows).clamp(4500 / one.patients.len(), 9000 / one.patients.len()) as i64 + 1;
        let stride = one.patients.iter().map(|p| p.id).max().unwrap_or(0) + 1;
        let mut many = RawExtract::default();
        for c in 0..copies {
            let id = |i: i64| i + c * stride;
            many.patients.extend(one.patients.iter().map(|p| Patient { id: id(p.id), ..p.clone() }));
            many.registrations.extend(one.registrations.iter().map(|r| Registration { patient_id: id(r.patient_id), ..r.clone() }));
            many.medications.extend(one.medications.iter().map(|r| Row { patient_id: id(r.patient_id), ..r.clone() }));
            many.clinical_events.extend(one.clinical_events.iter().map(|r| Row { patient_id: id(r.patient_id), ..r.clone() }));
        }
        let dir = tempfile::tempdir().expect("tempdir");
        write_extract(&many, dir.path(), Format::CSV);
        let ex = load(plan, dir.path(), false, None);
        let in_pool = |n: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(n).build().expect("thread pool");
            pool.install(|| run(plan, &ex, &dates)).expect("scan")
        };
        let single = in_pool(1);
        for n in [2, 3] {
            prop_assert_eq!(format!("{single:?}"), format!("{:?}", in_pool(n)), "1 thread and {} threads differ", n);
        }
        let base = outcome(&scan(plan, &one, &dates, Format::CSV, false).expect("scan"));
        let scaled = outcome(&single);
        let k = copies as u64;
        prop_assert_eq!(scaled.population, base.population.iter().map(|(key, n)| (key.clone(), n * k)).collect::<BTreeMap<_, _>>());
        prop_assert_eq!(scaled.counts, base.counts.iter().map(|(key, (a, b))| (key.clone(), (a * k, b * k))).collect::<BTreeMap<_, _>>());
        let multiplied: BTreeMap<_, _> = base.composites.iter().map(|(key, (d, h))| (key.clone(), (d * k, h.iter().map(|n| n * k).collect::<Vec<u64>>()))).collect();
        prop_assert_eq!(scaled.composites, multiplied);
    }
}

// ---------------------------------------------------------------------------------------------
// Random rule packs

/// Codes shared by both tables, so a dm+d list and a SNOMED CT list can hold the same string
/// (a medication codelist must still never match a clinical event).
/// Among them: the same number with and without a leading zero, 18 and 19 digits, a letter.
const UNIVERSE: [&str; 9] = [
    "101",
    "0101",
    "102",
    "103",
    "104",
    "123456789012345678",
    "1234567890123456789",
    "999999999999999999",
    "A12",
];
const OPS: [&str; 6] = ["==", "!=", "<", "<=", ">", ">="];

fn offset_text(months: i32, days: i32, style: u8) -> String {
    let mut s = "index".to_string();
    if months != 0 {
        let sign = if months < 0 { '-' } else { '+' };
        let m = months.abs();
        if m % 12 == 0 && style % 2 == 1 {
            s += &format!(" {sign} {} years", m / 12);
        } else {
            s += &format!(" {sign} {m} months");
        }
    }
    if days != 0 {
        let sign = if days < 0 { '-' } else { '+' };
        let d = days.abs();
        if d % 7 == 0 && style / 2 % 2 == 1 {
            s += &format!(" {sign} {} weeks", d / 7);
        } else if d == 1 {
            s += &format!(" {sign} 1 day");
        } else {
            s += &format!(" {sign} {d} days");
        }
    }
    s
}

fn offset() -> impl Strategy<Value = (i32, i32)> {
    (
        prop_oneof![3 => prop::sample::select(vec![0, -1, -2, -3, -6, -12, -15]), 1 => -24i32..=2],
        prop_oneof![3 => Just(0), 1 => -40i32..=40],
    )
}

fn rel_date() -> impl Strategy<Value = String> {
    (offset(), any::<u8>()).prop_map(|((m, d), style)| offset_text(m, d, style))
}

fn window() -> BoxedStrategy<String> {
    (
        prop::option::weighted(0.8, offset()),
        prop::option::weighted(0.85, offset()),
        any::<u8>(),
    )
        .prop_map(|(a, b, style)| {
            let (a, b) = match (a, b) {
                // Earliest first (months count as ~30.4 days); a near tie may still not compile.
                (Some(x), Some(y))
                    if x.0 as f64 * 30.4 + x.1 as f64 > y.0 as f64 * 30.4 + y.1 as f64 =>
                {
                    (Some(y), Some(x))
                }
                other => other,
            };
            let show = |o: Option<(i32, i32)>| {
                o.map_or("..".to_string(), |(m, d)| offset_text(m, d, style))
            };
            format!("[{}, {}]", show(a), show(b))
        })
        .boxed()
}

fn pick(items: &'static [&'static str]) -> BoxedStrategy<&'static str> {
    prop::sample::select(items).boxed()
}

fn table_and_list() -> BoxedStrategy<(&'static str, &'static str)> {
    prop_oneof![
        pick(&["m0", "m1", "m2"]).prop_map(|l| ("medications", l)),
        pick(&["e0", "e1", "e2"]).prop_map(|l| ("clinical_events", l)),
    ]
    .boxed()
}

fn negated() -> BoxedStrategy<&'static str> {
    pick(&["", "not "])
}

fn list_of(items: &'static [&'static str]) -> BoxedStrategy<String> {
    prop::collection::vec(prop::sample::select(items), 1..=3)
        .prop_map(|v| v.join(", "))
        .boxed()
}

const NUMBERS: [&str; 8] = ["0", "1", "44.99", "45", "thr", "-3", "1000000", "0.5"];
const COMPARATOR_LITERALS: [&str; 7] = [
    "\"\"", "\"<\"", "\"<=\"", "\"~\"", "\">\"", "\">=\"", "\"=\"",
];
const AGE_LITERALS: [&str; 6] = ["17", "18", "65", "75", "120", "121"];
const GAPS: [&str; 7] = [
    "0 days", "1 day", "27 days", "28 days", "gap", "4 weeks", "1 week",
];
const RECORDS: [&str; 4] = ["r0", "r1", "r2", "r3"];
const EVENT_RECORDS: [&str; 3] = ["r0", "r1", "r2"];
static SIMPLE: [&str; 12] = [
    "sex == \"M\"",
    "sex in (\"M\", \"F\")",
    "sex != \"U\"",
    "sex < \"G\"",
    "sex not in (\"I\")",
    "registered",
    "dead",
    "not dead",
    "true",
    "false",
    "age >= 18 and age <= 120",
    "d0",
];

/// A condition with no `and`/`or`; `with_d0` allows the definition `d0`.
fn leaf(with_d0: bool) -> BoxedStrategy<String> {
    let simple: &'static [&'static str] = if with_d0 {
        &SIMPLE
    } else {
        &SIMPLE[..SIMPLE.len() - 1]
    };
    prop_oneof![
        3 => (table_and_list(), window()).prop_map(|((t, l), w)| format!("{t}.has({l}, {w})")),
        2 => (any::<bool>(), pick(&["0", "1", "2"]), pick(&["0", "1", "2"]), pick(&GAPS), window()).prop_map(|(med, a, b, g, w)| {
            let (t, p) = if med { ("medications", "m") } else { ("clinical_events", "e") };
            format!("{t}.within({p}{a}, {p}{b}, {g}, {w})")
        }),
        2 => pick(&RECORDS).prop_map(|r| format!("exists({r})")),
        1 => (pick(&EVENT_RECORDS), pick(&["value", "comparator", "date"])).prop_map(|(r, f)| format!("exists({r}.{f})")),
        1 => (pick(&RECORDS), pick(&OPS), pick(&RECORDS)).prop_map(|(a, op, b)| format!("{a}.date {op} {b}.date")),
        1 => (pick(&RECORDS), pick(&OPS), rel_date()).prop_map(|(a, op, d)| format!("{a}.date {op} {d}")),
        1 => (pick(&RECORDS), rel_date(), pick(&OPS), rel_date()).prop_map(|(a, d, op, e)| format!("coalesce({a}.date, {d}) {op} {e}")),
        2 => (pick(&EVENT_RECORDS), pick(&OPS), pick(&NUMBERS)).prop_map(|(r, op, n)| format!("{r}.value {op} {n}")),
        1 => (pick(&EVENT_RECORDS), pick(&OPS), pick(&NUMBERS)).prop_map(|(r, op, n)| format!("coalesce({r}.value, 0) {op} {n}")),
        1 => (pick(&EVENT_RECORDS), negated(), list_of(&NUMBERS)).prop_map(|(r, not, l)| format!("{r}.value {not}in ({l})")),
        1 => (pick(&EVENT_RECORDS), negated(), list_of(&COMPARATOR_LITERALS)).prop_map(|(r, not, l)| format!("{r}.comparator {not}in ({l})")),
        1 => (pick(&EVENT_RECORDS), pick(&OPS), pick(&COMPARATOR_LITERALS), any::<bool>())
            .prop_map(|(r, op, c, wrap)| if wrap { format!("coalesce({r}.comparator, \"\") {op} {c}") } else { format!("{r}.comparator {op} {c}") }),
        1 => (pick(&OPS), pick(&AGE_LITERALS)).prop_map(|(op, a)| format!("age {op} {a}")),
        1 => (negated(), list_of(&AGE_LITERALS)).prop_map(|(not, l)| format!("age {not}in ({l})")),
        2 => pick(simple).prop_map(str::to_string),
        1 => (pick(&["e0", "e1", "e2"]), window(), pick(&OPS), pick(&NUMBERS)).prop_map(|(l, w, op, n)| format!("clinical_events.latest({l}, {w}).value {op} {n}")),
        1 => (table_and_list(), window(), pick(&OPS), rel_date()).prop_map(|((t, l), w, op, d)| format!("{t}.latest({l}, {w}).date {op} {d}")),
        1 => (table_and_list(), window()).prop_map(|((t, l), w)| format!("exists({t}.latest({l}, {w}))")),
        1 => (table_and_list(), window(), pick(&["==", "!="]), pick(&["dead", "registered", "true", "false"])).prop_map(|((t, l), w, op, b)| format!("({t}.has({l}, {w}) {op} {b})")),
    ]
    .boxed()
}

fn condition(with_d0: bool) -> BoxedStrategy<String> {
    leaf(with_d0)
        .prop_recursive(3, 10, 3, |inner| {
            prop_oneof![
                inner.clone().prop_map(|x| format!("not ({x})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
                // Precedence without parentheses: `not` binds tighter than `and`, `and` than `or`.
                (inner.clone(), inner.clone(), inner)
                    .prop_map(|(a, b, c)| format!("{a} or {b} and not {c}")),
            ]
        })
        .boxed()
}

#[derive(Debug, Clone)]
struct Pack {
    /// Three dm+d lists then three SNOMED CT lists, over [`UNIVERSE`]; the flag pads codes
    /// with spaces and repeats one.
    lists: Vec<(Vec<&'static str>, bool)>,
    /// `r0`..`r2` (clinical events) and `r3` (medications): list and window.
    records: Vec<(&'static str, String)>,
    gap: u8,
    thr: &'static str,
    d0: String,
    population: Option<String>,
    measures: Vec<(String, String)>,
    /// Member selectors: `< 100` a measure, otherwise the previous composite.
    composites: Vec<Vec<u8>>,
    /// Write definitions and measures into two files.
    two_files: bool,
}

fn pack() -> impl Strategy<Value = Pack> {
    let lists = prop::collection::vec(
        (
            prop::sample::subsequence(UNIVERSE.to_vec(), 1..=4),
            prop::bool::weighted(0.2),
        ),
        6,
    );
    let records = (
        (pick(&["e0", "e1", "e2"]), window()),
        (pick(&["e0", "e1", "e2"]), window()),
        (pick(&["e0", "e1", "e2"]), window()),
        (pick(&["m0", "m1", "m2"]), window()),
    )
        .prop_map(|(a, b, c, d)| vec![a, b, c, d]);
    let measures = prop::collection::vec((condition(true), condition(true)), 1..=3);
    let composites = prop::collection::vec(
        prop::collection::vec(prop_oneof![4 => 0u8..100, 1 => 100u8..=255], 1..=4),
        0..=2,
    );
    (
        lists,
        records,
        prop::sample::select(vec![0u8, 1, 27, 28]),
        pick(&["45", "1", "0"]),
        condition(false),
        prop::option::weighted(0.5, condition(true)),
        measures,
        composites,
        any::<bool>(),
    )
        .prop_map(
            |(lists, records, gap, thr, d0, population, measures, composites, two_files)| Pack {
                lists,
                records,
                gap,
                thr,
                d0,
                population,
                measures,
                composites,
                two_files,
            },
        )
}

impl Pack {
    /// Write the codelists and the rule files into `dir`; return the rule files for
    /// `compile_sources`.
    fn write(&self, dir: &Path) -> Vec<(std::path::PathBuf, String)> {
        std::fs::create_dir_all(dir.join("lists")).expect("mkdir");
        // (name, system, file, column as declared, header)
        let decls = [
            ("m0", "dmd", "m0.csv", Some("id"), "id,term"),
            ("m1", "dmd", "m1.csv", None, "term,id"),
            ("m2", "dmd", "lists/m2.csv", Some("dmd_id"), "dmd_id,term"),
            ("e0", "snomedct", "e0.csv", Some("code"), "code,term"),
            ("e1", "snomedct", "e1.csv", None, "code"),
            (
                "e2",
                "snomedct",
                "lists/e2.csv",
                Some("snomed"),
                "term,snomed",
            ),
        ];
        let mut head = String::new();
        for ((name, system, file, column, header), (codes, padded)) in decls.iter().zip(&self.lists)
        {
            let code_first = header.starts_with(|c| c != 't');
            let mut text = format!("{header}\n");
            let mut rows: Vec<&str> = codes.clone();
            if *padded {
                rows.push(codes[0]);
            }
            for c in rows {
                let c = if *padded {
                    format!(" {c} ")
                } else {
                    c.to_string()
                };
                text += &match (header.contains(','), code_first) {
                    (false, _) => format!("{c}\n"),
                    (true, true) => format!("{c},term {c}\n"),
                    (true, false) => format!("term {c},{c}\n"),
                };
            }
            std::fs::write(dir.join(file), text).expect("write codelist");
            head += &match column {
                Some(col) => format!("codelist {name} = {system}(\"{file}\", column: \"{col}\")\n"),
                None => format!("codelist {name} = {system}(\"{file}\")\n"),
            };
        }
        head += &format!("param gap = {} days\nparam thr = {}\n", self.gap, self.thr);
        for (i, (list, w)) in self.records.iter().enumerate() {
            let table = if list.starts_with('m') {
                "medications"
            } else {
                "clinical_events"
            };
            head += &format!("define r{i} = {table}.latest({list}, {w})\n");
        }
        head += &format!("define d0 = {}\n", self.d0);
        let mut body = String::new();
        if let Some(p) = &self.population {
            body += &format!("population = {p}\n");
        }
        for (i, (den, num)) in self.measures.iter().enumerate() {
            body += &format!("measure q{i} {{\n  primis = \"Q{i}\"\n  title = \"q{i}\"\n  doc = \"What it flags Why it matters Definition References\"\n  denominator = {den}\n  numerator = {num}\n}}\n");
        }
        for (i, members) in self.composites.iter().enumerate() {
            let names: Vec<String> = members
                .iter()
                .map(|&m| {
                    if m >= 100 && i > 0 {
                        format!("k{}", i - 1)
                    } else {
                        format!("q{}", m as usize % self.measures.len())
                    }
                })
                .collect();
            body += &format!("composite k{i} = [{}]\n", names.join(", "));
        }
        if self.two_files {
            vec![(dir.join("a.rx"), head), (dir.join("b.rx"), body)]
        } else {
            vec![(dir.join("pack.rx"), head + &body)]
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Random rule packs (codelists, windows, has/latest/within, exists/coalesce, comparisons,
    /// `in`, and/or/not, a population or none, measures and nested composites) on random
    /// extracts, some index dates not on the 1st: the engine and the reference agree on every
    /// flag and count, or both refuse the index dates; every numerator patient is in its
    /// denominator; and the series of dates gives what each date alone gives.
    #[test]
    fn random_rules_engine_agrees_with_reference(
        pack in pack(),
        spec in extract_spec(1..=25, 8),
        dates in dates_spec(1..=3, true),
        format in format_strategy(),
        shuffle in prop::option::weighted(0.3, any::<u64>()),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = pack.write(dir.path());
        let compiled = compile_sources(files, &CompileOptions::default());
        prop_assume!(compiled.is_ok());
        let plan = compiled.expect("compiled").plan;
        let dates = dates.dates();
        let mut raw = Ctx::new(&plan, &dates).resolve(&spec);
        if let Some(seed) = shuffle {
            shuffle_all(&mut raw, seed);
        }
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("mkdir");
        write_extract(&raw, &data, format);
        // Only the rows the dates can see (as `rxscan scan` loads); each date alone below
        // reads the same extract, and must then still be inside the loaded range.
        let ex = load(&plan, &data, false, Some(&dates));
        let engine = run(&plan, &ex, &dates).map(|r| outcome(&r));
        let reference = reference::evaluate(&plan, &raw, &dates);
        agree(&engine, &reference, "random pack")?;
        if let Ok(r) = &reference {
            consistent(r)?;
        }
        if let Ok(together) = &engine {
            consistent(together)?;
            let mut alone = Outcome::default();
            for d in &dates {
                let o = outcome(&run(&plan, &ex, std::slice::from_ref(d)).expect("each date alone is valid when all are"));
                alone.patients.extend(o.patients);
                alone.population.extend(o.population);
                alone.counts.extend(o.counts);
                alone.composites.extend(o.composites);
            }
            same(together, &alone, "a series of dates differs from each date alone")?;
        }
    }
}

proptest! {
    #![proptest_config(config(32))]

    /// More codelists per table than fit in one 64-bit word (the engine keeps codelist
    /// membership as bit words per code): measures over lists beyond the 64th agree too.
    #[test]
    fn many_codelists_engine_agrees_with_reference(
        n in 60usize..=140,
        lists in prop::collection::vec(prop::sample::subsequence(UNIVERSE.to_vec(), 1..=3), 280),
        uses in prop::collection::vec((any::<u16>(), any::<u16>(), window(), 0u8..4), 1..=4),
        spec in extract_spec(1..=20, 8),
        dates in dates_spec(1..=2, false),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut text = String::new();
        for i in 0..n {
            std::fs::write(dir.path().join(format!("x{i}.csv")), format!("id\n{}\n", lists[i].join("\n"))).expect("write");
            std::fs::write(dir.path().join(format!("y{i}.csv")), format!("code\n{}\n", lists[n + i].join("\n"))).expect("write");
            text += &format!("codelist x{i} = dmd(\"x{i}.csv\")\ncodelist y{i} = snomedct(\"y{i}.csv\")\n");
        }
        for (k, (a, b, w, kind)) in uses.iter().enumerate() {
            let (a, b) = (*a as usize % n, *b as usize % n);
            let (den, num) = match kind {
                0 => (format!("medications.has(x{a}, {w})"), format!("clinical_events.has(y{b}, {w})")),
                1 => ("true".to_string(), format!("medications.within(x{a}, x{b}, 27 days, {w})")),
                2 => (format!("exists(clinical_events.latest(y{a}, {w}))"), format!("clinical_events.latest(y{a}, {w}).value < 45")),
                _ => (format!("clinical_events.within(y{a}, y{b}, 5 days, {w})"), format!("medications.has(x{b}, {w})")),
            };
            text += &format!("measure q{k} {{\n  primis = \"Q\"\n  title = \"q\"\n  doc = \"d\"\n  denominator = {den}\n  numerator = {num}\n}}\n");
        }
        let compiled = compile_sources(vec![(dir.path().join("pack.rx"), text)], &CompileOptions::default());
        prop_assume!(compiled.is_ok());
        let plan = compiled.expect("compiled").plan;
        let dates = dates.dates();
        let raw = Ctx::new(&plan, &dates).resolve(&spec);
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("mkdir");
        write_extract(&raw, &data, Format::CSV);
        let engine = run(&plan, &load(&plan, &data, false, Some(&dates)), &dates).map(|r| outcome(&r));
        agree(&engine, &reference::evaluate(&plan, &raw, &dates), "many codelists")?;
    }
}

/// Empty tables (a header and no rows) in CSV and Parquet, with every writing variant.
#[test]
fn empty_tables_load_and_agree() {
    let plan = pincer();
    let index = ymd(2020, 3, 1);
    let raw = RawExtract {
        patients: vec![Patient {
            id: 7,
            date_of_birth: ymd(1940, 3, 1),
            sex: "F".into(),
            date_of_death: None,
        }],
        registrations: vec![Registration {
            patient_id: 7,
            start: ymd(2001, 1, 1),
            end: None,
            practice: "1".into(),
        }],
        medications: Vec::new(),
        clinical_events: Vec::new(),
    };
    let expected = reference::evaluate(plan, &raw, &[index]).expect("reference");
    assert_eq!(expected.population.values().sum::<u64>(), 1);
    for parquet in [false, true] {
        for flavour in [0, u16::MAX] {
            let got = scan(plan, &raw, &[index], Format { parquet, flavour }, false).expect("scan");
            assert_eq!(
                outcome(&got),
                expected,
                "parquet={parquet} flavour={flavour}"
            );
        }
    }
}

/// The features of the shipped pack are exactly the building blocks of INDICATORS.md §3
/// (codelist, table and window), so agreeing with the reference over the Plan means agreeing
/// with the specification's windows.
#[test]
fn pincer_features_are_the_specified_ones() {
    use rxscan_core::plan::{Feature, Offset, Window};
    let plan = pincer();
    let at = |months: i32| Some(Offset { months, days: 0 });
    let w = |a: i32, b: i32| Window {
        start: at(a),
        end: at(b),
    };
    let h = |b: i32| Window {
        start: None,
        end: at(b),
    };
    let (w3, w6, w15, w6_3, w12_6, h3, h15, h0) = (
        w(-3, 0),
        w(-6, 0),
        w(-15, 0),
        w(-6, -3),
        w(-12, -6),
        h(-3),
        h(-15),
        h(0),
    );
    let has = [
        ("nsaid", w3),
        ("ppi", w3),
        ("pep", h3),
        ("gi_bleed", h3),
        ("anticoag", w3),
        ("aspirin", w3),
        ("non_asp_antiplate", w3),
        ("nsbb", w3),
        ("hf", h3),
        ("acei", h15),
        ("acei", w6),
        ("diur", h15),
        ("diur", w6),
        ("renal", w15),
        ("electro", w15),
        ("met", w6_3),
        ("met", w3),
        ("fbc", w3),
        ("lft", w3),
        ("lith", w6_3),
        ("lith", w3),
        ("lith_lev", w3),
        ("amio", w12_6),
        ("amio", w6),
        ("tft", w6),
    ];
    let latest = [("ast", h3), ("ast_res", h0), ("egfr", h3)];
    let within = [("anticoag", "antiplat"), ("aspirin", "non_asp_antiplate")];
    let name = |i: usize| plan.codelists[i].name.as_str();
    let mut described: Vec<String> = plan
        .features
        .iter()
        .map(|f| match *f {
            Feature::Has { codelist, window } => format!("has {} {window:?}", name(codelist)),
            Feature::Latest { codelist, window } => format!("latest {} {window:?}", name(codelist)),
            Feature::Within {
                a,
                b,
                max_gap_days,
                window,
            } => format!("within {} {} {max_gap_days} {window:?}", name(a), name(b)),
        })
        .collect();
    let mut expected: Vec<String> = has
        .iter()
        .map(|(c, w)| format!("has {c} {w:?}"))
        .chain(latest.iter().map(|(c, w)| format!("latest {c} {w:?}")))
        .chain(
            within
                .iter()
                .map(|(a, b)| format!("within {a} {b} 27 {w3:?}")),
        )
        .collect();
    described.sort();
    expected.sort();
    assert_eq!(described, expected);
    for c in &plan.codelists {
        let medication = [
            "nsaid",
            "ppi",
            "anticoag",
            "antiplat",
            "aspirin",
            "non_asp_antiplate",
            "nsbb",
            "acei",
            "diur",
            "met",
            "lith",
            "amio",
        ]
        .contains(&c.name.as_str());
        assert_eq!(
            c.table,
            if medication {
                Table::Medications
            } else {
                Table::ClinicalEvents
            },
            "{}",
            c.name
        );
        assert!(
            c.path.ends_with(&format!("pincer-{}.csv", c.name)),
            "{} reads {}",
            c.name,
            c.path
        );
    }
}

/// The slices of `r` for date position `d`, and its patient rows at that date (with the date
/// erased), to compare one position of a series with the same date scanned alone.
#[allow(clippy::type_complexity)]
fn at_date(
    r: &Results,
    d: usize,
) -> (
    Vec<u64>,
    Vec<u64>,
    Vec<u64>,
    Vec<u64>,
    Vec<u64>,
    Vec<(u32, u32, u32, bool)>,
) {
    let (p, m, c) = (r.practices.len(), r.measures.len(), r.composites.len());
    let h = c * (r.max_members + 1);
    (
        r.numerators[d * p * m..(d + 1) * p * m].to_vec(),
        r.denominators[d * p * m..(d + 1) * p * m].to_vec(),
        r.population[d * p..(d + 1) * p].to_vec(),
        r.composite_denominators[d * p * c..(d + 1) * p * c].to_vec(),
        r.composite_histogram[d * p * h..(d + 1) * p * h].to_vec(),
        r.patient_rows
            .iter()
            .filter(|f| f.date as usize == d)
            .map(|f| (f.patient, f.practice, f.measure, f.numerator))
            .collect(),
    )
}

proptest! {
    #![proptest_config(config(24))]

    /// More index dates than one block of lanes (64), in any order: the engine agrees with the
    /// reference; and with some dates repeated, every position of the series gives exactly what
    /// its date gives alone (counts, composites and patient rows).
    #[test]
    fn many_dates_in_any_order_engine_agrees_with_reference(
        pack in pack(),
        spec in extract_spec(1..=12, 8),
        dates in dates_spec(60..=90, true),
        order in any::<u64>(),
        repeats in 0usize..4,
        format in format_strategy(),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = pack.write(dir.path());
        let compiled = compile_sources(files, &CompileOptions::default());
        prop_assume!(compiled.is_ok());
        let plan = compiled.expect("compiled").plan;
        let mut dates = dates.dates();
        // Fisher-Yates with a xorshift generator, then a few dates again.
        let mut x = order | 1;
        for i in (1..dates.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            dates.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let raw = Ctx::new(&plan, &dates).resolve(&spec);
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("mkdir");
        write_extract(&raw, &data, format);
        // Loaded for these dates (as `rxscan scan` loads), in shuffled order.
        let ex = load(&plan, &data, false, Some(&dates));
        // The reference's counts are keyed by date, so it is given each date once.
        let engine = run(&plan, &ex, &dates).map(|r| outcome(&r));
        agree(&engine, &reference::evaluate(&plan, &raw, &dates), "random pack, many dates")?;
        for k in 0..repeats {
            dates.push(dates[k * 7 % dates.len()]);
        }
        let together = run(&plan, &ex, &dates);
        if let Ok(together) = &together {
            for (i, d) in dates.iter().enumerate() {
                let alone = run(&plan, &ex, std::slice::from_ref(d)).expect("each date alone is valid when all are");
                prop_assert_eq!(at_date(together, i), at_date(&alone, 0), "date position {} ({})", i, d);
            }
        }
    }
}
