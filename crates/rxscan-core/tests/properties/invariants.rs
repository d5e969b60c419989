//! What must not change a result: the order of rows, scanning practice by practice, CSV or
//! Parquet (and which codes are kept while loading), a series of dates or each date alone,
//! and the number of threads.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::checks::{agree, same};
use crate::config::config;
use crate::engine::{load, outcome, run, scan};
use crate::generators::{dates_spec, extract_spec, DatesSpec, ExtractSpec};
use crate::pincer_cases::{pincer, pincer_case, pincer_raw};
use crate::reference::{self, Outcome, Patient, RawExtract, Registration, Row};
use crate::reorder::{interleave_all, order_sensitive, shuffle_all};
use crate::resolve::Ctx;
use crate::writers::{write_extract, Format};

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
