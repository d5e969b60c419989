//! Writing raw rows as an extract: CSV or Parquet, in the many shapes a user's files come in
//! (the [`Format`] flavour bits).

use std::path::Path;

use chrono::NaiveDate;
use polars::prelude::{Column, DataFrame, DataType, ParquetWriter};
use proptest::prelude::*;

use crate::generators::ymd;
use crate::reference::{iso, RawExtract};

#[derive(Debug, Clone, Copy)]
pub struct Format {
    pub parquet: bool,
    /// Bits: 1 ids as strings (Parquet), 2 dates as strings (Parquet), 4 an extra column,
    /// 8 leave out the optional comparator column when it is empty, 16 empty comparators as null
    /// (Parquet), 32 numbers in exponent notation (CSV), 64 zero-padded patient ids (CSV),
    /// 128 CRLF line ends (CSV), 256 a byte-order mark (CSV), 512 every field quoted (CSV),
    /// 1024 no line end after the last record (CSV), 2048 a line break inside the quoted extra
    /// column (CSV).
    pub flavour: u16,
}

impl Format {
    pub const CSV: Format = Format {
        parquet: false,
        flavour: 0,
    };
    fn bit(self, b: u16) -> bool {
        self.flavour & b != 0
    }
}

pub fn format_strategy() -> impl Strategy<Value = Format> {
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

pub fn write_extract(raw: &RawExtract, dir: &Path, f: Format) {
    let extra = f.bit(4);
    // Always written: a missing date_of_death is an error unless declared absent (issue 12;
    // tested in rxscan-cli's tests/inputs.rs).
    let with_death = true;
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
