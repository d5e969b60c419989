#!/usr/bin/env bash
# Fuzz rxscan for a bounded time per target (cargo-fuzz / libFuzzer), seeded from the repo.
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]      default: 60 s, targets rules and extract_csv
#
# Environment: FUZZ_SECONDS (instead of the first argument), FUZZ_SANITIZER (none | address;
# default none, see README.md), CARGO_FUZZ_VERSION (installed if cargo-fuzz is missing).
# A crash stops that target, its input is saved under fuzz/artifacts/TARGET/, and the script
# exits 1 after the other targets have run. Logs: fuzz/logs/TARGET.log.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${FUZZ_SECONDS:-60}
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
  secs=$1
  shift
fi
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(rules extract_csv)
sanitizer=${FUZZ_SANITIZER:-none}

# The machine has a stable toolchain only. cargo-fuzz passes -Z flags to rustc and cargo;
# RUSTC_BOOTSTRAP=1 makes stable accept them.
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked --version "${CARGO_FUZZ_VERSION:-0.13.2}"
fi

# Seed corpora (libFuzzer adds what it finds to the same folders; they are git-ignored).
echo "== seeding fuzz/corpus"
mkdir -p fuzz/corpus/rules fuzz/corpus/extract_csv fuzz/logs
find rules/pincer testdata/rules-broken -name '*.rx' | sort | while read -r f; do
  cp "$f" "fuzz/corpus/rules/seed-$(echo "$f" | tr '/' '_')"
done
# The whole pack as one input, so a seed reaches lowering and evaluation.
find rules/pincer -name '*.rx' | sort | xargs cat > fuzz/corpus/rules/seed-pincer-pack.rx
# extract_csv: the first byte picks the table (see fuzz_targets/extract_csv.rs).
tables=(medications clinical_events patients practice_registrations)
for k in 0 1 2 3; do
  t=${tables[$k]}
  for f in testdata/e2e/$t.csv testdata/boundaries/*/$t.csv; do
    [[ -f $f ]] || continue
    { printf "\\x0$k"; cat "$f"; } > "fuzz/corpus/extract_csv/seed-$(echo "$f" | tr '/' '_')"
  done
done

status=0
summary=()
for t in "${targets[@]}"; do
  echo "== fuzzing $t for ${secs}s (sanitizer: $sanitizer)"
  log=fuzz/logs/$t.log
  opts=(-max_total_time="$secs" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1)
  [[ -f fuzz/dict/$t.dict ]] && opts+=(-dict="fuzz/dict/$t.dict")
  # Large rule files compile and render their diagnostics slowly (the 200 kB too_deep seed at a
  # few per second, 16 kB inputs at ~25/s); the size limits are pinned by tests, so keep
  # inputs small and fast.
  [[ $t == rules ]] && opts+=(-max_len=4096)
  set +e
  cargo fuzz run -O -a -s "$sanitizer" "$t" "fuzz/corpus/$t" -- "${opts[@]}" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{print $2}' || true)
  took=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -1 | awk '{print $5}' || true)
  if [[ $rc -eq 0 ]]; then
    summary+=("$t: ran clean for ${took:-?} s, ${runs:-?} executions")
  else
    status=1
    summary+=("$t: FAILED after ${runs:-?} executions (exit $rc); see $log and fuzz/artifacts/$t/")
  fi
done

echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status
