"""Rewrite an extract's Parquet files the way other tools write them, to check that rxscan reads
them all alike (its page-level Parquet reader takes dictionary and plain pages, v1 and v2 data
pages, any compression polars reads; anything else goes through polars).

    python writers.py --data DIR --out OUT

Writes OUT/<flavour>/ for each flavour below, every table of DIR rewritten (CSV tables are
copied as they are). The flavours:

  pyarrow-default     pyarrow.parquet.write_table with its defaults (snappy, dictionary, v1 pages)
  pyarrow-v2-plain    data page v2, no dictionary (every page plain), zstd, 64k-row groups
  pyarrow-gzip-small  gzip, small pages (8 KiB) and row groups (50k rows), dictionary on
  duckdb              DuckDB's COPY ... (FORMAT parquet) with its defaults
"""
import argparse
import os
import shutil

import duckdb
import pyarrow.parquet as pq

FLAVOURS = {
    "pyarrow-default": dict(),
    "pyarrow-v2-plain": dict(data_page_version="2.0", use_dictionary=False, compression="zstd", row_group_size=65536),
    "pyarrow-gzip-small": dict(compression="gzip", data_page_size=8192, row_group_size=50000),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    files = sorted(os.listdir(a.data))
    for flavour in list(FLAVOURS) + ["duckdb"]:
        out = os.path.join(a.out, flavour)
        os.makedirs(out, exist_ok=True)
        for f in files:
            src = os.path.join(a.data, f)
            dst = os.path.join(out, f)
            if not f.endswith(".parquet"):
                shutil.copy(src, dst)
            elif flavour == "duckdb":
                duckdb.sql(f"COPY (SELECT * FROM read_parquet('{src}')) TO '{dst}' (FORMAT parquet)")
            else:
                pq.write_table(pq.read_table(src), dst, **FLAVOURS[flavour])
        print(f"writers: {out}")


if __name__ == "__main__":
    main()
