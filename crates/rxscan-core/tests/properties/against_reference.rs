//! The engine against the reference evaluator: the PINCER pack and random rule packs on
//! random extracts (every patient flag, count and composite histogram), many codelists, many
//! index dates in any order, and empty tables.

use proptest::prelude::*;
use rxscan_core::compile::{compile_sources, CompileOptions};

use crate::checks::{agree, consistent, layout, same};
use crate::config::config;
use crate::engine::{at_date, load, outcome, run, scan};
use crate::generators::{dates_spec, extract_spec, ymd};
use crate::packs::{pack, window, UNIVERSE};
use crate::pincer_cases::{pincer, pincer_case, pincer_raw, pincer_with};
use crate::reference::{self, Outcome, Patient, RawExtract, Registration};
use crate::reorder::shuffle_all;
use crate::resolve::Ctx;
use crate::writers::{format_strategy, write_extract, Format};

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
