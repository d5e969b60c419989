//! Criterion benchmarks of the hot scan loop: `eval::evaluate` on an extract already in memory,
//! swept over extract size (10k / 100k / 1M patients), index dates (1 / 12 / 60) and threads
//! (1 / 2). Throughput is in rows of the extract (medication + clinical-event rows read from
//! the files) per second.
//!
//! The extracts are generated once per size with `rxscan-synth` (seed 1, Parquet) into a
//! temporary folder and loaded for the PINCER plan at the benchmarked dates, as `rxscan scan`
//! does (`Scan::load`: rows no window can see at those dates are dropped at load,
//! so the extract in memory holds fewer rows than the files; throughput still counts every row
//! read from the files).
//!
//! `cargo bench --bench evaluate` (all sizes), or `RXSCAN_BENCH_SIZES=10000,100000 cargo bench
//! --bench evaluate` for a quicker run.

use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rxscan_core::compile::{compile_dir, CompileOptions};
use rxscan_core::dates;
use rxscan_core::eval::EvalOptions;
use rxscan_core::{IndexDates, Scan};

fn sizes() -> Vec<usize> {
    std::env::var("RXSCAN_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000, 1_000_000])
}

pub fn synth(dir: &Path, patients: usize, format: rxscan_synth::Format) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cfg = rxscan_synth::SynthConfig {
        patients,
        practices: (patients / 5000).max(1),
        seed: 1,
        out: dir.to_path_buf(),
        format,
        codelists: rxscan_synth::Codelists::Dir(repo.join("rules/pincer/codelists")),
        ..Default::default()
    };
    rxscan_synth::generate(&cfg).expect("generate the benchmark extract");
}

fn bench_evaluate(c: &mut Criterion) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let plan = compile_dir(&repo.join("rules/pincer"), &CompileOptions::default())
        .expect("pack compiles")
        .plan;
    let first = dates::parse_iso("2020-03-01").expect("date");
    let series = |n: i32| -> Vec<i32> {
        (0..n)
            .filter_map(|k| dates::add_months(first, -k))
            .collect()
    };
    let mut group = c.benchmark_group("evaluate");
    group.sample_size(10);
    for patients in sizes() {
        let tmp = tempfile::tempdir().expect("tempdir");
        synth(tmp.path(), patients, rxscan_synth::Format::Parquet);
        for n_dates in [1, 12, 60] {
            let scan = Scan::new(
                plan.clone(),
                IndexDates::of(series(n_dates)).expect("index dates"),
            );
            let extract = scan.load(tmp.path()).expect("load");
            let rows = (extract.medications.rows_read + extract.clinical_events.rows_read) as u64;
            group.throughput(Throughput::Elements(rows));
            for threads in [1, 2] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .expect("pool");
                let id = BenchmarkId::from_parameter(format!("{patients}p/{n_dates}d/{threads}t"));
                group.bench_with_input(id, &scan, |b, scan| {
                    b.iter(|| {
                        pool.install(|| {
                            scan.evaluate(&extract, &EvalOptions::default())
                                .expect("evaluate")
                        })
                    })
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, bench_evaluate);
criterion_main!(benches);
