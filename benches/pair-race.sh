#!/usr/bin/env bash
# Two rxscan binaries raced side by side on one extract: the runs alternate (old, new, old,
# new, ...) so that a busy machine slows both alike, and each round's new/old ratio is taken
# as a pair. Prints the median wall and CPU (user+sys) of each binary, peak memory, and the
# median and quartiles of the paired ratios. How the cost of evidence was measured (issue #11,
# benches/RESULTS.md). Usage:
#   OLD=/tmp/rxscan-old NEW=target/release/rxscan DATA=DIR benches/pair-race.sh
#   (ROUNDS=12, INDEX_DATE=2020-03-01; extra scan arguments in ARGS)
# The old binary: git worktree add /tmp/old COMMIT && (cd /tmp/old && cargo build --release)
set -euo pipefail
: "${OLD:?the old binary}" "${NEW:?the new binary}" "${DATA:?an extract folder}"
ROUNDS=${ROUNDS:-12}
INDEX_DATE=${INDEX_DATE:-2020-03-01}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $ROUNDS rounds on $DATA"
echo "bin,round,wall,cpu,maxrss_kb" > "$WORK/times.csv"
for round in $(seq 1 "$ROUNDS"); do
  for b in old new; do
    bin=$OLD; [ "$b" = new ] && bin=$NEW
    rm -rf "$WORK/out"
    # shellcheck disable=SC2086
    /usr/bin/time -f "%e %U %S %M" -o "$WORK/t" "$bin" scan --data "$DATA" \
      --index-date "$INDEX_DATE" --out "$WORK/out" --quiet ${ARGS:-} > /dev/null
    read -r w u s m < "$WORK/t"
    echo "$b,$round,$w,$(echo "$u + $s" | bc),$m" >> "$WORK/times.csv"
  done
done
python3 - "$WORK/times.csv" <<'PY'
import csv, statistics as st, sys
rows = list(csv.DictReader(open(sys.argv[1])))
by = {}
for r in rows:
    by.setdefault(r["round"], {})[r["bin"]] = r
for b in ("old", "new"):
    x = [r for r in rows if r["bin"] == b]
    med = lambda k: st.median(float(r[k]) for r in x)
    print(f"{b}: wall {med('wall'):.2f} s, cpu {med('cpu'):.2f} s, peak memory {med('maxrss_kb') / 1024:.0f} MB (medians)")
for k in ("wall", "cpu"):
    ratios = [float(v["new"][k]) / float(v["old"][k]) for v in by.values()]
    q = st.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    print(f"new/old {k}: median {st.median(ratios):.3f} (quartiles {q[0]:.3f}-{q[2]:.3f}, {len(ratios)} pairs)")
PY
