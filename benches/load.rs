//! Criterion benchmarks of the load stage: reading and validating an extract with the PINCER
//! plan's code filter, from CSV and from Parquet (100k patients by default; set
//! `RXSCAN_BENCH_LOAD_PATIENTS`). Throughput in rows of the extract per second.

use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rxscan_core::compile::{compile_dir, CompileOptions};
use rxscan_core::extract::Extract;
use rxscan_core::scan::rows;

fn bench_load(c: &mut Criterion) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let plan = compile_dir(&repo.join("rules/pincer"), &CompileOptions::default())
        .expect("pack compiles")
        .plan;
    let patients: usize = std::env::var("RXSCAN_BENCH_LOAD_PATIENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let tmp = tempfile::tempdir().expect("tempdir");
    let cfg = rxscan_synth::SynthConfig {
        patients,
        practices: (patients / 5000).max(1),
        seed: 1,
        out: tmp.path().to_path_buf(),
        format: rxscan_synth::Format::Both,
        codelists: rxscan_synth::Codelists::Dir(repo.join("rules/pincer/codelists")),
        ..Default::default()
    };
    rxscan_synth::generate(&cfg).expect("generate");
    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    for format in ["csv", "parquet"] {
        // One folder per format, the four tables linked from the generated folder.
        let dir = tmp.path().join(format);
        std::fs::create_dir_all(&dir).expect("dir");
        for t in [
            "patients",
            "practice_registrations",
            "medications",
            "clinical_events",
        ] {
            let name = format!("{t}.{format}");
            std::fs::rename(tmp.path().join(&name), dir.join(&name)).expect("move");
        }
        let probe = Extract::load(&dir, &rows::for_any_date(&plan)).expect("load");
        group.throughput(Throughput::Elements(
            (probe.medications.rows_read + probe.clinical_events.rows_read) as u64,
        ));
        group.bench_function(
            BenchmarkId::from_parameter(format!("{patients}p/{format}")),
            |b| b.iter(|| Extract::load(&dir, &rows::for_any_date(&plan)).expect("load")),
        );
    }
    group.finish();
}

criterion_group!(benches, bench_load);
criterion_main!(benches);
