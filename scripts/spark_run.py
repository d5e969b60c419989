#!/usr/bin/env python3
"""Run a script written by `rxscan sql --dialect spark` on Apache Spark and write the three
result files (summary.csv, patients.csv, composites.csv), as `rxscan scan` writes them.

    rxscan sql --dialect spark --index-date 2024-01-01 --out pincer.sql
    spark-submit scripts/spark_run.py --sql pincer.sql --data EXTRACT_DIR --out OUTDIR
    # or per table:  --patients P --practice-registrations P --medications P --clinical-events P

EXTRACT_DIR holds patients, practice_registrations, medications and clinical_events as NAME.parquet
(or NAME.csv, or a folder of Parquet parts named NAME); each table gets the column types of
docs/DATA-CONTRACT.md. Without a `registration_id` column, the row order of the
practice_registrations file is the last registration tie-break, as in `rxscan scan`.
Statements are sent one at a time (`spark.sql` takes one). On Databricks over tables that
already exist, skip this script: split the script on lines ending in `;` and run each with
`spark.sql` (README, "SQL on your warehouse").
"""

import argparse
import csv
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rxscan_sql  # noqa: E402


def table_path(data, name):
    for cand in (f"{name}.parquet", f"{name}.csv", name):
        p = os.path.join(data, cand)
        if os.path.exists(p):
            return p
    raise SystemExit(f"error: {data}: no {name}.parquet, {name}.csv or {name}/")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sql", required=True, help="script from `rxscan sql --dialect spark`")
    ap.add_argument("--data", help="extract folder")
    for t in rxscan_sql.TABLES:
        ap.add_argument("--" + t.replace("_", "-"), help=f"path of the {t} table")
    ap.add_argument("--out", required=True, help="output folder for the three CSV files")
    ap.add_argument("--master", help="e.g. local[2] (default: from spark-submit)")
    args = ap.parse_args()
    paths = {}
    for t in rxscan_sql.TABLES:
        given = getattr(args, t)
        if given:
            paths[t] = given
        elif args.data:
            paths[t] = table_path(args.data, t)
        else:
            raise SystemExit(f"error: give --data or --{t.replace('_', '-')}")
    started = time.time()
    spark = rxscan_sql.spark_session("rxscan", args.master)
    rxscan_sql.spark_load(spark, paths)
    results = rxscan_sql.spark_run(spark, open(args.sql).read())
    os.makedirs(args.out, exist_ok=True)
    for view, name in zip(rxscan_sql.RESULTS, rxscan_sql.FILES):
        header, rows = results[view]
        with open(os.path.join(args.out, name), "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            w.writerows(sorted(rows))
    print(f"wrote {', '.join(rxscan_sql.FILES)} to {args.out} in {time.time() - started:.1f}s")


if __name__ == "__main__":
    main()
