#!/usr/bin/env bash
# The side-by-side race, one command: builds rxscan (release), generates one synthetic extract
# in Parquet and CSV (same data), and runs rxscan, DuckDB SQL and a polars lazy query on the
# same files, checking that all three give identical per-practice numerators and denominators.
# Then times rxscan alone over 60 monthly index dates. Results: the printed tables, and
# $WORK/*/timings.csv. Usage:
#   benches/race.sh                 # 1,000,000 patients
#   PATIENTS=100000 benches/race.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PATIENTS=${PATIENTS:-1000000}
REPEAT=${REPEAT:-3}
# The CSV peers take minutes per run; CSV_REPEAT=1 keeps a full race under half an hour.
CSV_REPEAT=${CSV_REPEAT:-$REPEAT}
WORK=${WORK:-/tmp/rxscan-race-$PATIENTS}
echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
cargo build --release -q -p rxscan-cli
RX=target/release/rxscan
if [ ! -f "$WORK/parquet/medications.parquet" ] || [ ! -f "$WORK/csv/medications.csv" ]; then
  rm -rf "$WORK"; mkdir -p "$WORK/csv" "$WORK/parquet"
  "$RX" synth --patients "$PATIENTS" --practices $(( PATIENTS / 5000 > 0 ? PATIENTS / 5000 : 1 )) --seed 1 --format both --out "$WORK/gen"
  mv "$WORK"/gen/*.csv "$WORK/csv/"; mv "$WORK"/gen/*.parquet "$WORK/parquet/"; rmdir "$WORK/gen"
fi
du -sh "$WORK/parquet" "$WORK/csv"
echo "== one index date, Parquet"
benches/compare/compare.sh --data "$WORK/parquet" --format parquet --index-date 2020-03-01 --repeat "$REPEAT" --workdir "$WORK/run-parquet"
echo "== one index date, CSV"
benches/compare/compare.sh --data "$WORK/csv" --format csv --index-date 2020-03-01 --repeat "$CSV_REPEAT" --workdir "$WORK/run-csv"
# The multi-date target compares rxscan with itself, so both are measured here, back to back
# (after the peers, whose memory use leaves the machine in a different state from the start).
echo "== rxscan alone, Parquet: one index date, then 60 monthly index dates (the SQL engines re-run per date)"
benches/compare/compare.sh --engines rxscan --data "$WORK/parquet" --format parquet --index-date 2020-03-01 --repeat "$REPEAT" --workdir "$WORK/run-1"
benches/compare/compare.sh --engines rxscan --data "$WORK/parquet" --format parquet --months 2018-04-01:2023-03-01 --repeat "$REPEAT" --workdir "$WORK/run-60"
one=$(awk -F, '$1=="rxscan"{print $3}' "$WORK/run-1/timings.csv")
sixty=$(awk -F, '$1=="rxscan"{print $3}' "$WORK/run-60/timings.csv")
echo "== rxscan, Parquet: one date ${one} s, 60 dates ${sixty} s (medians), ratio $(awk -v a="$sixty" -v b="$one" 'BEGIN{printf "%.2f", a/b}')x"
