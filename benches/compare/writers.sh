#!/usr/bin/env bash
# Does rxscan read Parquet from other writers exactly as it reads CSV? Generates a synthetic
# extract (CSV and Parquet), rewrites the Parquet with pyarrow (several settings) and DuckDB
# (writers.py), scans each at two index dates and compares every output file byte for byte with
# the CSV scan. Usage: benches/compare/writers.sh   (PATIENTS=20000 by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
PATIENTS=${PATIENTS:-20000}
WORK=${WORK:-$(mktemp -d /tmp/rxscan-writers-XXXXXX)}
benches/compare/setup.sh >/dev/null
cargo build --release -q -p rxscan-cli
RX=target/release/rxscan
"$RX" synth --patients "$PATIENTS" --practices 4 --seed 7 --format both --out "$WORK/gen" >/dev/null
mkdir -p "$WORK/csv" "$WORK/parquet"
mv "$WORK"/gen/*.csv "$WORK/csv/"; mv "$WORK"/gen/*.parquet "$WORK/parquet/"
benches/compare/.venv/bin/python benches/compare/writers.py --data "$WORK/parquet" --out "$WORK/rewritten"
scan() { "$RX" scan --rules rules/pincer --data "$1" --index-date 2020-03-01 --index-date 2022-09-01 --out "$2" --quiet; }
scan "$WORK/csv" "$WORK/out-csv"
status=0
for d in "$WORK/parquet" "$WORK"/rewritten/*; do
  name=$(basename "$d")
  scan "$d" "$WORK/out-$name"
  if diff -r -q "$WORK/out-csv" "$WORK/out-$name" >/dev/null; then
    echo "writers: $name: same outputs as CSV"
  else
    echo "writers: $name: DIFFERENT from CSV" >&2; diff -r "$WORK/out-csv" "$WORK/out-$name" | head >&2; status=1
  fi
done
exit $status
