#!/usr/bin/env python3
"""The SQL-lowering proof: run `rxscan sql`'s script on a real engine and compare its three
result views, row for row, with the files `rxscan scan` wrote for the same extract.

    python3 scripts/sql_compare.py --engine duckdb|spark CASE_DIR...

Each CASE_DIR holds `data/` (the extract: four NAME.csv or NAME.parquet files), `script.sql`
(the script for that engine) and `native/` (summary.csv, patients.csv, composites.csv from
`rxscan scan`). Rows are compared as multisets (the views have no order); the columns must be
the files' columns, in order. Any difference prints the rows only one side has and exits 1.
"""

import argparse
import collections
import csv
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rxscan_sql  # noqa: E402

SHOW = 15


def native(case):
    out = {}
    for view, name in zip(rxscan_sql.RESULTS, rxscan_sql.FILES):
        with open(os.path.join(case, "native", name), newline="") as f:
            rows = list(csv.reader(f))
        out[view] = (rows[0], [tuple(r) for r in rows[1:]])
    return out


def compare(case, want, got):
    problems = []
    for view in rxscan_sql.RESULTS:
        (wh, wr), (gh, gr) = want[view], got[view]
        if list(wh) != list(gh):
            problems.append(f"{view}: columns {gh}, expected {wh}")
            continue
        w, g = collections.Counter(wr), collections.Counter(gr)
        only_native = sorted((w - g).elements())
        only_sql = sorted((g - w).elements())
        if only_native or only_sql:
            lines = [f"{view}: {len(wr)} native rows, {len(gr)} SQL rows; "
                     f"{len(only_native)} only in rxscan scan, {len(only_sql)} only in SQL"]
            lines.append("  " + ",".join(wh))
            for r in only_native[:SHOW]:
                lines.append("  native only: " + ",".join(r))
            for r in only_sql[:SHOW]:
                lines.append("  SQL only:    " + ",".join(r))
            problems.append("\n".join(lines))
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", choices=["duckdb", "spark"], required=True)
    ap.add_argument("cases", nargs="+")
    args = ap.parse_args()
    started = time.time()
    if args.engine == "spark":
        spark = rxscan_sql.spark_session("rxscan-sql-compare", "local[2]")
    failed, rows = 0, 0
    for case in args.cases:
        script = open(os.path.join(case, "script.sql")).read()
        data = os.path.join(case, "data")
        try:
            if args.engine == "duckdb":
                import duckdb
                con = duckdb.connect()
                rxscan_sql.duckdb_load(con, data)
                got = rxscan_sql.duckdb_run(con, script)
                con.close()
            else:
                paths = {t: rxscan_sql.table_file(data, t)[0] for t in rxscan_sql.TABLES}
                rxscan_sql.spark_load(spark, paths)
                got = rxscan_sql.spark_run(spark, script)
        except Exception as e:  # an engine error is a failure of this case, named
            print(f"FAIL {case}: the {args.engine} engine refused the script: {e}", file=sys.stderr)
            failed += 1
            continue
        want = native(case)
        rows += sum(len(want[v][1]) for v in want)
        problems = compare(case, want, got)
        if problems:
            failed += 1
            print(f"FAIL {case} ({args.engine}):", file=sys.stderr)
            for p in problems:
                print(p, file=sys.stderr)
    took = time.time() - started
    print(f"{args.engine}: {len(args.cases) - failed}/{len(args.cases)} cases identical "
          f"({rows} native rows compared) in {took:.1f}s")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
