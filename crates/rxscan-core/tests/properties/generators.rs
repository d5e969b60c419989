//! Random extracts and index dates as abstract specs: which anchor date and how many days off
//! it, which codelist a code comes from, which age, sex and practice, ... ([`crate::resolve`]
//! turns a spec into rows against a plan and its index dates).

use chrono::NaiveDate;
use proptest::prelude::*;

use crate::reference;

pub fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

/// A date: an anchor (index dates and every window boundary of the plan) plus some days, or
/// near an earlier date of the same patient and table (co-prescription gaps).
#[derive(Debug, Clone)]
pub enum DateSpec {
    Anchor(u8, i16),
    Near(u8, i16),
}

/// A code: from one of the table's codelists, from the other table's codelists, or from none.
/// Three groups in four come from the patient's theme, so a patient often has several codes
/// of the same few lists (two periods of methotrexate, an anticoagulant and an antiplatelet).
#[derive(Debug, Clone)]
pub struct CodeSpec {
    pub group: u8,
    pub idx: u16,
    pub padded: bool,
}

#[derive(Debug, Clone)]
pub struct RowSpec {
    pub date: DateSpec,
    pub code: CodeSpec,
    pub value: u8,
    pub comparator: u8,
}

#[derive(Debug, Clone)]
pub struct RegSpec {
    pub practice: u8,
    pub start: DateSpec,
    pub end: Option<DateSpec>,
    /// Start where the previous registration ended (a transfer or a restart on the same day).
    pub restart: bool,
}

#[derive(Debug, Clone)]
pub struct PatientSpec {
    pub age: u8,
    pub dob_months: i8,
    pub dob_day: u8,
    pub sex: u8,
    pub death: Option<DateSpec>,
    pub regs: Vec<RegSpec>,
    pub meds: Vec<RowSpec>,
    pub events: Vec<RowSpec>,
    pub jitter: u16,
    pub theme: [u8; 3],
}

#[derive(Debug, Clone)]
pub struct ExtractSpec {
    pub patients: Vec<PatientSpec>,
    pub practices: u8,
    pub practice_style: u8,
    /// 0 dense small ids, 1 sparse ids, 2 ids near the top of i64.
    pub id_style: u8,
}

pub const AGES: [i32; 16] = [
    16, 17, 18, 19, 40, 64, 65, 66, 74, 75, 76, 100, 119, 120, 121, 130,
];
pub const SEXES: [&str; 14] = [
    "M", "F", "male", "female", "Female", "MALE", "m", " f ", "I", "U", "intersex", "unknown",
    "Unknown", "F",
];
pub const VALUES: [Option<f64>; 16] = [
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
pub const COMPARATORS: [&str; 10] = ["", "", "", "~", "=", ">=", ">", "<", "<=", " < "];
/// Practice ids: numeric order differs from text order; mixed; leading zeros; the same id
/// with and without surrounding spaces (one practice once trimmed).
pub const PRACTICE_STYLES: [[&str; 4]; 5] = [
    ["1", "2", "10", "3"],
    ["P1", "P10", "P2", "q"],
    ["7", "X7", "12", "a-b"],
    ["0012", "12", "3", "100"],
    [" 5", "5", "6 ", "X"],
];
/// Codes in no list: among them a listed anticoagulant with a leading zero.
pub const OUTSIDE_CODES: [&str; 4] = ["999", "0", "1234567890123456789", "0319740004"];

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

pub fn extract_spec(
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
pub struct DatesSpec {
    pub start: u8,
    pub count: u8,
    pub step: u8,
    /// Replace the first date with a day that is not the 1st (random packs only).
    pub odd: Option<u8>,
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
    pub fn dates(&self) -> Vec<NaiveDate> {
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

pub fn dates_spec(
    count: std::ops::RangeInclusive<u8>,
    odd: bool,
) -> impl Strategy<Value = DatesSpec> {
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
