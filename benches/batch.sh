#!/usr/bin/env bash
# Batch against one extract, side by side: PRACTICES practice folders of PER patients each
# (synthetic, one seed per folder, registrations without a practice column so each takes its
# folder's name) against the same patients as one extract (ids offset per folder, the folder's
# name as practice_pseudo_id). Checks that both give the same summary.csv, then times them
# alternately (REPEAT runs each) and prints the medians and their ratio. Usage:
#   benches/batch.sh                     # 100 folders x 10,000 patients, CSV
#   PRACTICES=10 PER=1000 benches/batch.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PRACTICES=${PRACTICES:-100}
PER=${PER:-10000}
REPEAT=${REPEAT:-5}
WORK=${WORK:-/tmp/rxscan-batch-$PRACTICES-$PER}
echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
cargo build --release -q -p rxscan-cli
RX=target/release/rxscan
if [ ! -f "$WORK/one/clinical_events.csv" ]; then
  rm -rf "$WORK"; mkdir -p "$WORK/pcn" "$WORK/one"
  for i in $(seq 1 "$PRACTICES"); do
    name=$(printf 'p%03d' "$i")
    "$RX" synth --patients "$PER" --practices 1 --seed "$i" --out "$WORK/pcn/$name" > /dev/null
    off=$(( i * 1000000 ))
    # The one extract: ids offset, the folder's name as the practice.
    for t in patients medications clinical_events; do
      f="$WORK/pcn/$name/$t.csv"
      if [ "$i" = 1 ]; then head -1 "$f" > "$WORK/one/$t.csv"; fi
      awk -F, -v OFS=, -v off="$off" 'NR>1{$1=$1+off; print}' "$f" >> "$WORK/one/$t.csv"
    done
    f="$WORK/pcn/$name/practice_registrations.csv"
    if [ "$i" = 1 ]; then echo "patient_id,start_date,end_date,practice_pseudo_id" > "$WORK/one/practice_registrations.csv"; fi
    awk -F, -v OFS=, -v off="$off" -v p="$name" 'NR>1{print $1+off,$2,$3,p}' "$f" >> "$WORK/one/practice_registrations.csv"
    # The folder: registrations without their practice column.
    awk -F, -v OFS=, '{print $1,$2,$3}' "$f" > "$f.tmp" && mv "$f.tmp" "$f"
  done
fi
du -sh "$WORK/pcn" "$WORK/one"
run() { "$RX" scan --data "$1" --index-date 2020-03-01 --out "$2" --quiet; }
run "$WORK/pcn" "$WORK/out-pcn"; run "$WORK/one" "$WORK/out-one"
cmp "$WORK/out-pcn/summary.csv" "$WORK/out-one/summary.csv"
echo "same summary.csv ($(($(wc -l < "$WORK/out-one/summary.csv") - 1)) rows)"
: > "$WORK/timings.csv"
for r in $(seq 1 "$REPEAT"); do
  for kind in one pcn; do
    s=$(date +%s.%N); run "$WORK/$kind" "$WORK/out-$kind"; e=$(date +%s.%N)
    echo "$kind,$r,$(awk -v s="$s" -v e="$e" 'BEGIN{printf "%.3f", e-s}')" | tee -a "$WORK/timings.csv"
  done
done
med() { awk -F, -v k="$1" '$1==k{print $3}' "$WORK/timings.csv" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
one=$(med one); pcn=$(med pcn)
echo "== median: one extract ${one} s, ${PRACTICES} folders ${pcn} s, ratio $(awk -v a="$pcn" -v b="$one" 'BEGIN{printf "%.2f", a/b}')x"
