#!/usr/bin/env bash
# The SQL lowering proven on real engines (issue 13): `rxscan sql`'s script run on DuckDB and on
# Apache Spark (local mode) must give, row for row, the summary, patients and composites files
# of `rxscan scan` on the same extract. Needs the engines: .ci/install-engines.sh.
#
#   DuckDB: random rule packs (the property tests' grammar) and the PINCER pack on random
#           extracts (cargo test --test sql_engines -- --ignored); PINCER on every boundary
#           fixture; PINCER on a 20,000-patient synthetic extract at 3 index dates.
#   Spark:  PINCER on the boundary fixtures (merged into one extract, ids kept apart) and on
#           the 20,000-patient extract at 3 index dates. RXSCAN_NO_SPARK=1 skips Spark.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
started=$SECONDS

cargo build -q -p rxscan-cli
R="${CARGO_TARGET_DIR:-target}/debug/rxscan"
R="$(cd "$(dirname "$R")" && pwd)/rxscan"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# case DIR DATA ENGINE DATES...: native files and the engine's script for one extract.
case_dir() {
  local dir=$1 data=$2 engine=$3; shift 3
  mkdir -p "$dir"
  ln -s "$(cd "$data" && pwd)" "$dir/data"
  "$R" scan --data "$data" "$@" --out "$dir/native" -q
  "$R" sql --dialect "$engine" "$@" --out "$dir/script.sql"
}

echo "== SQL on DuckDB: random rule packs and PINCER on random extracts"
cargo test -q -p rxscan-core --test sql_engines -- --ignored

echo "== synthetic extract: 20,000 patients (Parquet)"
"$R" synth --patients 20000 --practices 20 --seed 7 --format parquet --out "$work/synth" > /dev/null
synth_dates=(--index-date 2019-03-01 --index-date 2020-01-01 --index-date 2021-02-01)

echo "== merged boundary fixtures"
bdates=$("$PY" scripts/merge_extracts.py "$work/boundaries" testdata/boundaries/*/)
bargs=()
for d in $bdates; do bargs+=(--index-date "$d"); done

echo "== rxscan sql | duckdb (the CLI shell, as the README shows) on the synthetic extract"
(
  cd "$work/synth"
  for t in patients medications clinical_events; do
    echo "CREATE VIEW $t AS SELECT * FROM read_parquet('$t.parquet');"
  done > views.sql
  echo "CREATE VIEW practice_registrations AS SELECT *, file_row_number AS registration_id FROM read_parquet('practice_registrations.parquet', file_row_number = true);" >> views.sql
  {
    cat views.sql
    "$R" sql --dialect duckdb "${synth_dates[@]}"
    for v in summary patients composites; do
      echo "COPY (SELECT * FROM rxscan_$v) TO 'pipe-$v.csv' (HEADER);"
    done
  } | duckdb
  "$R" scan --data . "${synth_dates[@]}" --out native-pipe -q
  for v in summary patients composites; do
    # Views have no order: compare the header, then the rows sorted.
    if [ "$(head -1 "pipe-$v.csv")" != "$(head -1 "native-pipe/$v.csv")" ] ||
      ! diff <(tail -n +2 "pipe-$v.csv" | sort) <(tail -n +2 "native-pipe/$v.csv" | sort) > "diff-$v.txt"; then
      echo "rxscan sql | duckdb: $v differs from rxscan scan:"; head -20 "diff-$v.txt"; exit 1
    fi
    echo "  $v: $(($(wc -l < "pipe-$v.csv") - 1)) rows, identical"
  done
)

for engine in duckdb spark; do
  if [ "$engine" = spark ] && [ "${RXSCAN_NO_SPARK:-0}" = 1 ]; then
    echo "== Spark skipped (RXSCAN_NO_SPARK=1)"
    continue
  fi
  cases=()
  if [ "$engine" = duckdb ]; then
    for fx in testdata/boundaries/*/; do
      n=$(basename "$fx")
      fdates=()
      for d in $(tail -n +2 "$fx/expected.csv" | cut -d, -f1 | sort -u); do fdates+=(--index-date "$d"); done
      case_dir "$work/$engine/boundary-$n" "$fx" "$engine" "${fdates[@]}"
      cases+=("$work/$engine/boundary-$n")
    done
  fi
  case_dir "$work/$engine/boundaries-merged" "$work/boundaries" "$engine" "${bargs[@]}"
  case_dir "$work/$engine/synth-20k" "$work/synth" "$engine" "${synth_dates[@]}"
  cases+=("$work/$engine/boundaries-merged" "$work/$engine/synth-20k")
  echo "== SQL on $engine: PINCER on the boundary fixtures and the synthetic extract"
  RXSCAN_SPARK_PARTITIONS=${RXSCAN_SPARK_PARTITIONS:-2} "$PY" scripts/sql_compare.py --engine "$engine" "${cases[@]}"
done
echo "SQL engines agree with rxscan scan ($((SECONDS - started))s)"
