#!/usr/bin/env python3
"""Run the script of `rxscan sql --dialect duckdb` on DuckDB over an extract of Parquet files and
write summary.csv, composites.csv and patients.csv (the timing peer of pincer_duckdb.py, which
runs the hand-written pincer.sql over the same files).

    python sql_generated.py --data DIR --sql pincer_generated.sql --out DIR [--threads N]

The four tables are views over the files as written by `rxscan synth --format parquet` (the
contract's types already); `registration_id` is the file's row order.
"""

import argparse
import os
import sys
import time

import duckdb

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../scripts"))
import rxscan_sql  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--sql", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int)
    args = ap.parse_args()
    started = time.time()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    for t in rxscan_sql.TABLES:
        path = os.path.join(args.data, f"{t}.parquet").replace("'", "''")
        if t == "practice_registrations":
            con.execute(f"CREATE VIEW {t} AS SELECT *, file_row_number AS registration_id "
                        f"FROM read_parquet('{path}', file_row_number = true)")
        else:
            con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{path}')")
    for s in rxscan_sql.statements(open(args.sql).read()):
        con.execute(s)
    os.makedirs(args.out, exist_ok=True)
    for view, name in zip(rxscan_sql.RESULTS, rxscan_sql.FILES):
        target = os.path.join(args.out, name).replace("'", "''")
        con.execute(f"COPY (SELECT * FROM {view}) TO '{target}' (HEADER)")
    print(f"generated SQL on DuckDB: {time.time() - started:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
