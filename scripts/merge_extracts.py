#!/usr/bin/env python3
"""Merge CSV extract folders into one, so a slow-to-start engine (Spark) runs one case, not one
per folder: patient ids of the i-th folder (from 0) become i * STRIDE + id; practices are kept.

    python3 scripts/merge_extracts.py OUT_DIR IN_DIR...

Rows keep their order within each table (the order of the folders, then of the file), so the
file-order registration tie-break is the same. Prints the index dates of the folders'
`expected.csv` files (the boundary fixtures), one per line.
"""

import csv
import os
import sys

STRIDE = 1_000_000
TABLES = ["patients", "practice_registrations", "medications", "clinical_events"]


def main():
    out, dirs = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    dates = set()
    for table in TABLES:
        header, rows = [], []
        for i, d in enumerate(dirs):
            with open(os.path.join(d, f"{table}.csv"), newline="", encoding="utf-8-sig") as f:
                r = csv.DictReader(f)
                for col in r.fieldnames:
                    if col not in header:
                        header.append(col)
                for row in r:
                    row["patient_id"] = str(i * STRIDE + int(row["patient_id"]))
                    rows.append(row)
        with open(os.path.join(out, f"{table}.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, header, restval="", lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
    for d in dirs:
        exp = os.path.join(d, "expected.csv")
        if os.path.exists(exp):
            with open(exp, newline="") as f:
                dates.update(row["index_date"] for row in csv.DictReader(f))
    print("\n".join(sorted(dates)))


if __name__ == "__main__":
    main()
