//! The script: a sequence of views, each one statement, from the extract tables to the three
//! result views. The views, in order (every name starts with `rxscan_`):
//!
//! 1. `rxscan_dates`: one row per index date (`date_no`, `index_date`) with one column `o<k>`
//!    per offset the plan reads (`index - 3 months`, ...), worked out here, in Rust, with the
//!    library's own month arithmetic, so an impossible day is refused when the script is
//!    written, for the dates given, exactly as `rxscan scan` refuses it.
//! 2. `rxscan_codelists`: one row per codelist and code, from an inline table (or the user's
//!    table, `--codelists-table`).
//! 3. `rxscan_registered`: the current registration of each patient at each index date
//!    (start ≤ I < end), one row per patient and date by the tie-breaks of
//!    `docs/DATA-CONTRACT.md`, with the patient facts (age, sex letter, dead).
//! 4. `rxscan_hits_medications`, `rxscan_hits_clinical_events`: event rows joined to the
//!    codelists (codes trimmed, matched by equality).
//! 5. `rxscan_features`: one row per feature, patient and date where the feature holds
//!    (`has`, `within`) or found a record (`latest`, one row by the documented tie-break).
//! 6. `rxscan_facts`: the registered rows with the features pivoted into one wide row and
//!    left-joined once, each formula (population, every denominator and numerator) a boolean
//!    column; `rxscan_eval` keeps the population rows, as the evaluator counts them.
//! 7. `rxscan_patients`, `rxscan_counts` then `rxscan_summary`, `rxscan_composite_counts`
//!    then `rxscan_composites`: the three outputs, with the columns of the CSV files.
//!
//! Tables read by several later statements are materialised (`Dialect::create_table`); the
//! rest are views.

use super::dialect::Dialect;
use super::expr::{offsets_in, Lower};
use crate::dates::{self, Day};
use crate::eval::EvalError;
use crate::plan::{Feature, Offset, Plan, Table, Window};

/// Where the script reads its inputs from.
pub(super) struct Inputs<'a> {
    /// Prefix of the four extract tables (`db.schema.`), or empty.
    pub(super) tables: &'a str,
    /// A table of (codelist, code) the user loaded, instead of the inline one.
    pub(super) codelists_table: Option<&'a str>,
}

/// Every offset the plan reads: window ends first (in feature order), then formula offsets.
fn plan_offsets(plan: &Plan) -> Vec<Offset> {
    let mut out = Vec::new();
    for f in &plan.features {
        let w = f.window();
        for o in [w.start, w.end].into_iter().flatten() {
            if !out.contains(&o) {
                out.push(o);
            }
        }
    }
    offsets_in(&plan.population, &mut out);
    for m in &plan.measures {
        offsets_in(&m.denominator, &mut out);
        offsets_in(&m.numerator, &mut out);
    }
    out
}

/// The day `index + o`, or the evaluator's own error for a day that does not exist.
fn shift(index: Day, o: Offset) -> Result<Day, EvalError> {
    o.at(index).ok_or_else(|| EvalError::ImpossibleDate {
        date: dates::format_iso(index),
        sign: if o.months < 0 { '-' } else { '+' },
        months: o.months.abs(),
    })
}

pub(super) fn statements(
    plan: &Plan,
    index_dates: &[Day],
    d: &dyn Dialect,
    inputs: &Inputs,
) -> Result<Vec<String>, EvalError> {
    if index_dates.is_empty() {
        return Err(EvalError::NoIndexDates);
    }
    let offsets = plan_offsets(plan);
    let lower = Lower {
        dialect: d,
        offsets: &offsets,
    };
    let t = |name: &str| format!("{}{name}", inputs.tables);
    let mut out = Vec::new();

    // 1. The dates table, every offset checked here.
    let mut rows = Vec::new();
    for (i, &day) in index_dates.iter().enumerate() {
        let mut row = vec![i.to_string(), d.date(&dates::format_iso(day))];
        for &o in &offsets {
            row.push(d.date(&dates::format_iso(shift(day, o)?)));
        }
        rows.push(row);
    }
    let mut cols = vec!["date_no".to_string(), "index_date".to_string()];
    cols.extend((0..offsets.len()).map(|k| format!("o{k}")));
    let col_refs: Vec<&str> = cols.iter().map(String::as_str).collect();
    out.push(d.create_view(
        "rxscan_dates",
        &format!("SELECT * FROM {}", d.values("t", &col_refs, &rows)),
    ));

    // 2. The codelists.
    let codelists = match inputs.codelists_table {
        Some(table) => format!(
            "SELECT CAST(codelist AS {s}) AS codelist, trim(CAST(code AS {s})) AS code FROM {table}",
            s = d.string_type()
        ),
        None => {
            // One row per codelist, its codes joined by a character no code contains.
            let sep = ['|', ' ', '~', '#', '!']
                .into_iter()
                .find(|&c| plan.codelists.iter().all(|l| l.codes.iter().all(|x| !x.contains(c))));
            let rows: Vec<Vec<String>> = plan
                .codelists
                .iter()
                .filter(|c| !c.codes.is_empty())
                .map(|c| vec![d.string(&c.name), d.string(&c.codes.join(&sep.unwrap_or('|').to_string()))])
                .collect();
            match sep {
                _ if rows.is_empty() => format!(
                    "SELECT CAST(NULL AS {s}) AS codelist, CAST(NULL AS {s}) AS code FROM rxscan_dates WHERE FALSE",
                    s = d.string_type()
                ),
                Some(sep) => d.split_codes(&rows, sep),
                // Codes holding every separator: one row per code.
                None => {
                    let rows: Vec<Vec<String>> = plan
                        .codelists
                        .iter()
                        .flat_map(|c| c.codes.iter().map(|code| vec![d.string(&c.name), d.string(code)]))
                        .collect();
                    format!("SELECT * FROM {}", d.values("t", &["codelist", "code"], &rows))
                }
            }
        }
    };
    out.extend(d.create_table("rxscan_codelists", &codelists));

    // 3. The current registration (latest start, then latest end with an ongoing one latest,
    //    then the lowest registration_id: DATA-CONTRACT), with the patient facts at that date.
    let practice = format!("trim(CAST(r.practice_pseudo_id AS {}))", d.string_type());
    let o_cols: String = (0..offsets.len()).map(|k| format!(", x.o{k}")).collect();
    out.extend(d.create_table(
        "rxscan_registered",
        &format!(
            "SELECT x.date_no, x.index_date{o_cols}, x.patient_id, x.practice_pseudo_id,
  year(x.index_date) - year(p.date_of_birth)
    - CASE WHEN month(x.index_date) < month(p.date_of_birth)
             OR (month(x.index_date) = month(p.date_of_birth) AND day(x.index_date) < day(p.date_of_birth))
           THEN 1 ELSE 0 END AS age,
  CASE upper(trim(p.sex)) WHEN 'M' THEN 'M' WHEN 'MALE' THEN 'M' WHEN 'F' THEN 'F' WHEN 'FEMALE' THEN 'F'
    WHEN 'I' THEN 'I' WHEN 'INTERSEX' THEN 'I' WHEN 'U' THEN 'U' WHEN 'UNKNOWN' THEN 'U' END AS sex,
  (p.date_of_death IS NOT NULL AND p.date_of_death <= x.index_date) AS dead
FROM (
  SELECT d.*, r.patient_id, {practice} AS practice_pseudo_id,
    row_number() OVER (PARTITION BY d.date_no, r.patient_id
      ORDER BY r.start_date DESC, CASE WHEN r.end_date IS NULL THEN 0 ELSE 1 END, r.end_date DESC, r.registration_id) AS rn
  FROM rxscan_dates d
  JOIN {regs} r ON r.start_date <= d.index_date AND (r.end_date IS NULL OR d.index_date < r.end_date)
) x
JOIN {patients} p ON p.patient_id = x.patient_id
WHERE x.rn = 1",
            regs = t("practice_registrations"),
            patients = t("patients"),
        ),
    ));

    // 4. Event rows that match a codelist of their table.
    for table in [Table::Medications, Table::ClinicalEvents] {
        let names: Vec<String> = plan
            .codelists
            .iter()
            .filter(|c| c.table == table)
            .map(|c| d.string(&c.name))
            .collect();
        let (code, extra) = match table {
            Table::Medications => ("dmd_code", "CAST(NULL AS DOUBLE) AS v, '' AS c".to_string()),
            Table::ClinicalEvents => (
                "snomedct_code",
                format!(
                    "CAST(e.numeric_value AS DOUBLE) AS v, COALESCE(trim(CAST(e.comparator AS {})), '') AS c",
                    d.string_type()
                ),
            ),
        };
        let filter = if names.is_empty() {
            "FALSE".to_string()
        } else {
            format!("l.codelist IN ({})", names.join(", "))
        };
        out.extend(d.create_table(
            &format!("rxscan_hits_{}", table.name()),
            &format!(
                "SELECT e.patient_id, e.date, l.codelist, {extra}
FROM {src} e
JOIN rxscan_codelists l ON l.code = trim(CAST(e.{code} AS {s}))
WHERE {filter}",
                src = t(table.name()),
                s = d.string_type(),
            ),
        ));
    }

    // 5. Every feature in one long table (one row per feature, patient and date where it
    //    holds or found a record), then one wide row per patient and date: a single join
    //    however many features the pack has.
    let parts: Vec<String> = plan
        .features
        .iter()
        .enumerate()
        .map(|(k, f)| {
            format!(
                "SELECT {k} AS k, date_no, patient_id, d, v, c FROM (\n{}\n) f{k}",
                feature(plan, f, &lower)
            )
        })
        .collect();
    out.extend(d.create_table(
        "rxscan_features",
        &union(
            parts,
            format!("SELECT 0 AS k, date_no, CAST(NULL AS BIGINT) AS patient_id, CAST(NULL AS DATE) AS d, CAST(NULL AS DOUBLE) AS v, CAST(NULL AS {}) AS c FROM rxscan_dates WHERE FALSE", d.string_type()),
        ),
    ));
    let mut wide = vec!["date_no".to_string(), "patient_id".to_string()];
    for (k, f) in plan.features.iter().enumerate() {
        match f {
            Feature::Latest { .. } => {
                for col in ["d", "v", "c"] {
                    wide.push(format!("MAX(CASE WHEN k = {k} THEN {col} END) AS {col}{k}"));
                }
            }
            _ => wide.push(format!("MAX(CASE WHEN k = {k} THEN 1 END) AS h{k}")),
        }
    }

    // 6. Every formula per registered patient and date.
    let mut facts = vec![
        "b.date_no".to_string(),
        "b.index_date".to_string(),
        "b.patient_id".to_string(),
        "b.practice_pseudo_id".to_string(),
        format!("{} AS pop", lower.condition(&plan.population)),
    ];
    for (m, measure) in plan.measures.iter().enumerate() {
        facts.push(format!("{} AS d{m}", lower.condition(&measure.denominator)));
        facts.push(format!("{} AS n{m}", lower.condition(&measure.numerator)));
    }
    out.push(d.create_view(
        "rxscan_facts",
        &format!(
            "SELECT {}\nFROM rxscan_registered b\nLEFT JOIN (\n  SELECT {}\n  FROM rxscan_features\n  GROUP BY date_no, patient_id\n) f ON f.date_no = b.date_no AND f.patient_id = b.patient_id",
            facts.join(",\n  "),
            wide.join(",\n    ")
        ),
    ));
    let mut eval = vec![
        "date_no".to_string(),
        "index_date".to_string(),
        "patient_id".to_string(),
        "practice_pseudo_id".to_string(),
    ];
    for m in 0..plan.measures.len() {
        eval.push(format!("(d{m}) AS den{m}"));
        eval.push(format!("(d{m} AND n{m}) AS num{m}"));
    }
    out.extend(d.create_table(
        "rxscan_eval",
        &format!(
            "SELECT {}\nFROM rxscan_facts\nWHERE pop",
            eval.join(",\n  ")
        ),
    ));

    // 7. The outputs.
    out.push(d.create_view("rxscan_patients", &patients(plan, d)));
    let mut counts = vec![
        "date_no".to_string(),
        "index_date".to_string(),
        "practice_pseudo_id".to_string(),
    ];
    for m in 0..plan.measures.len() {
        counts.push(format!("{} AS cd{m}", count(&format!("den{m}"))));
        counts.push(format!("{} AS cn{m}", count(&format!("num{m}"))));
    }
    out.extend(d.create_table(
        "rxscan_counts",
        &format!(
            "SELECT {}\nFROM rxscan_eval\nGROUP BY date_no, index_date, practice_pseudo_id",
            counts.join(",\n  ")
        ),
    ));
    out.push(d.create_view("rxscan_summary", &summary(plan, d)));
    let (comp_counts, composites) = composites(plan, d);
    out.extend(d.create_table("rxscan_composite_counts", &comp_counts));
    out.push(d.create_view("rxscan_composites", &composites));
    Ok(out)
}

/// `COUNT` of the rows where a boolean column holds, as a BIGINT.
fn count(column: &str) -> String {
    format!("CAST(SUM(CASE WHEN {column} THEN 1 ELSE 0 END) AS BIGINT)")
}

/// The window's conditions on `alias.date` (open ends add none).
fn in_window(alias: &str, w: Window, lower: &Lower) -> String {
    let mut parts = Vec::new();
    if let Some(o) = w.start {
        parts.push(format!("{alias}.date >= d.{}", lower.offset_column(o)));
    }
    if let Some(o) = w.end {
        parts.push(format!("{alias}.date <= d.{}", lower.offset_column(o)));
    }
    parts.iter().map(|p| format!(" AND {p}")).collect()
}

fn hits(plan: &Plan, codelist: usize) -> String {
    format!("rxscan_hits_{}", plan.codelists[codelist].table.name())
}

fn feature(plan: &Plan, f: &Feature, lower: &Lower) -> String {
    let d = lower.dialect;
    match *f {
        Feature::Has { codelist, window } => format!(
            "SELECT d.date_no, h.patient_id, {none}
FROM rxscan_dates d
JOIN {hits} h ON h.codelist = {name}{w}
GROUP BY d.date_no, h.patient_id",
            hits = hits(plan, codelist),
            name = d.string(&plan.codelists[codelist].name),
            w = in_window("h", window, lower),
            none = no_record(d),
        ),
        // The greatest date; on that date the smallest value (a missing one last), then the
        // smallest comparator as text (DATA-CONTRACT: rows equal on all three are
        // indistinguishable to every formula).
        Feature::Latest { codelist, window } => format!(
            "SELECT date_no, patient_id, d, v, c FROM (
  SELECT d.date_no, h.patient_id, h.date AS d, h.v, h.c,
    row_number() OVER (PARTITION BY d.date_no, h.patient_id
      ORDER BY h.date DESC, CASE WHEN h.v IS NULL THEN 1 ELSE 0 END, h.v, h.c) AS rn
  FROM rxscan_dates d
  JOIN {hits} h ON h.codelist = {name}{w}
) x WHERE rn = 1",
            hits = hits(plan, codelist),
            name = d.string(&plan.codelists[codelist].name),
            w = in_window("h", window, lower),
        ),
        Feature::Within {
            a,
            b,
            max_gap_days,
            window,
        } => format!(
            "SELECT d.date_no, x.patient_id, {none}
FROM rxscan_dates d
JOIN {hx} x ON x.codelist = {na}{wx}
JOIN {hy} y ON y.patient_id = x.patient_id AND y.codelist = {nb}{wy}
  AND abs({gap}) <= {max_gap_days}
GROUP BY d.date_no, x.patient_id",
            hx = hits(plan, a),
            hy = hits(plan, b),
            na = d.string(&plan.codelists[a].name),
            nb = d.string(&plan.codelists[b].name),
            wx = in_window("x", window, lower),
            wy = in_window("y", window, lower),
            gap = d.days_between("x.date", "y.date"),
            none = no_record(d),
        ),
    }
}

/// The record columns of a feature that has no record (`has`, `within`).
fn no_record(d: &dyn Dialect) -> String {
    format!(
        "CAST(NULL AS DATE) AS d, CAST(NULL AS DOUBLE) AS v, CAST(NULL AS {}) AS c",
        d.string_type()
    )
}

fn union(parts: Vec<String>, empty: String) -> String {
    if parts.is_empty() {
        empty
    } else {
        parts.join("\nUNION ALL\n")
    }
}

/// `CASE sel WHEN 0 THEN a0 WHEN 1 THEN a1 ... END`: column `i` of a wide row, chosen by the
/// label row's number (the outputs read each wide table once, crossed with a small table of
/// labels, rather than once per measure: an engine that re-reads a view's definition per
/// reference, as Spark does, would otherwise analyse the whole script once per measure).
fn pick(sel: &str, columns: impl Iterator<Item = String>) -> String {
    let arms: String = columns
        .enumerate()
        .map(|(i, c)| format!(" WHEN {i} THEN {c}"))
        .collect();
    format!("CASE {sel}{arms} END")
}

/// The measures as a small inline table `m(no, measure)`.
fn measure_labels(plan: &Plan, d: &dyn Dialect) -> String {
    let rows: Vec<Vec<String>> = plan
        .measures
        .iter()
        .enumerate()
        .map(|(i, m)| vec![i.to_string(), d.string(&m.id)])
        .collect();
    d.values("m", &["no", "measure"], &rows)
}

fn patients(plan: &Plan, d: &dyn Dialect) -> String {
    let n = plan.measures.len();
    if n == 0 {
        return format!("SELECT index_date, patient_id, practice_pseudo_id, CAST(NULL AS {}) AS measure, TRUE AS numerator FROM rxscan_eval WHERE FALSE", d.string_type());
    }
    format!(
        "SELECT e.index_date, e.patient_id, e.practice_pseudo_id, m.measure, {} AS numerator\nFROM rxscan_eval e\nCROSS JOIN {}\nWHERE {}",
        pick("m.no", (0..n).map(|i| format!("e.num{i}"))),
        measure_labels(plan, d),
        pick("m.no", (0..n).map(|i| format!("e.den{i}"))),
    )
}

/// `100 × num / den` with two decimals, rounded half up, `NULL` when `den` is 0: integer
/// hundredths (`results::format_rate`'s arithmetic), then the text `h.hh` read as a DECIMAL, so
/// no binary fraction is ever rounded.
fn rate(num: &str, den: &str, d: &dyn Dialect) -> String {
    let h = d.int_div(&format!("(20000 * {num} + {den})"), &format!("(2 * {den})"));
    let s = d.string_type();
    format!(
        "CASE WHEN {den} = 0 THEN NULL ELSE CAST(concat(CAST({int} AS {s}), '.', lpad(CAST({h} % 100 AS {s}), 2, '0')) AS DECIMAL(20, 2)) END",
        int = d.int_div(&h, "100"),
    )
}

fn summary(plan: &Plan, d: &dyn Dialect) -> String {
    let n = plan.measures.len();
    if n == 0 {
        return format!("SELECT index_date, practice_pseudo_id, CAST(NULL AS {}) AS measure, CAST(0 AS BIGINT) AS numerator, CAST(0 AS BIGINT) AS denominator, CAST(NULL AS DECIMAL(20, 2)) AS rate FROM rxscan_counts WHERE FALSE", d.string_type());
    }
    format!(
        "SELECT index_date, practice_pseudo_id, measure, numerator, denominator,\n  {} AS rate\nFROM (\n  SELECT c.index_date, c.practice_pseudo_id, m.measure, {} AS numerator, {} AS denominator\n  FROM rxscan_counts c\n  CROSS JOIN {}\n) x",
        rate("numerator", "denominator", d),
        pick("m.no", (0..n).map(|i| format!("c.cn{i}"))),
        pick("m.no", (0..n).map(|i| format!("c.cd{i}"))),
        measure_labels(plan, d),
    )
}

/// Per listed date and practice, each composite's denominator (any member denominator) and
/// the patients with exactly n member numerators; then one output row per composite and n.
fn composites(plan: &Plan, d: &dyn Dialect) -> (String, String) {
    let mut cols = vec![
        "date_no".to_string(),
        "index_date".to_string(),
        "practice_pseudo_id".to_string(),
    ];
    let (mut labels, mut dens, mut hists) = (Vec::new(), Vec::new(), Vec::new());
    for (c, comp) in plan.composites.iter().enumerate() {
        let den: Vec<String> = comp.members.iter().map(|m| format!("den{m}")).collect();
        let den = if den.is_empty() {
            "FALSE".to_string()
        } else {
            den.join(" OR ")
        };
        cols.push(format!("{} AS k{c}", count(&format!("({den})"))));
        let n: Vec<String> = comp
            .members
            .iter()
            .map(|m| format!("CASE WHEN num{m} THEN 1 ELSE 0 END"))
            .collect();
        let n = if n.is_empty() {
            "0".to_string()
        } else {
            n.join(" + ")
        };
        for k in 1..=comp.members.len() {
            cols.push(format!("{} AS k{c}_{k}", count(&format!("({n}) = {k}"))));
            labels.push(vec![
                labels.len().to_string(),
                d.string(&comp.id),
                k.to_string(),
            ]);
            dens.push(format!("c.k{c}"));
            hists.push(format!("c.k{c}_{k}"));
        }
    }
    // Listed practices are those with a population patient: the rows of rxscan_eval.
    let counts = format!(
        "SELECT {}\nFROM rxscan_eval\nGROUP BY date_no, index_date, practice_pseudo_id",
        cols.join(",\n  ")
    );
    let composites = if labels.is_empty() {
        format!("SELECT index_date, practice_pseudo_id, CAST(NULL AS {}) AS composite, CAST(0 AS BIGINT) AS denominator, 0 AS n_numerators, CAST(0 AS BIGINT) AS patients FROM rxscan_composite_counts WHERE FALSE", d.string_type())
    } else {
        format!(
            "SELECT c.index_date, c.practice_pseudo_id, k.composite, {} AS denominator, k.n AS n_numerators, {} AS patients\nFROM rxscan_composite_counts c\nCROSS JOIN {}",
            pick("k.no", dens.into_iter()),
            pick("k.no", hists.into_iter()),
            d.values("k", &["no", "composite", "n"], &labels),
        )
    };
    (counts, composites)
}
