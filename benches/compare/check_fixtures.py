#!/usr/bin/env python3
"""Run the peer engines on the hand-checked boundary fixtures and compare with expected.csv.

    check_fixtures.py [--fixtures testdata/boundaries] [--engines duckdb,polars,reference]

Each fixture folder (testdata/boundaries/<name>/) holds an extract (the four tables as CSV) and
expected.csv (index_date,patient_id,measure,denominator,numerator,case); base/ also has
expected_practice.csv (index_date,patient_id,practice_pseudo_id,case). Each engine runs at the
index dates named in expected.csv and writes patients.csv; an expected row with denominator true
must appear there with the expected numerator, and one with denominator false must not appear.
The fixtures are read only. Exit status 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


def truth(v: str) -> bool:
    v = v.strip().lower()
    if v in ("true", "t", "1", "yes", "y"):
        return True
    if v in ("false", "f", "0", "no", "n", ""):
        return False
    raise ValueError(f"not a boolean: {v!r}")


def python() -> str:
    venv = os.path.join(HERE, ".venv", "bin", "python")
    return venv if os.path.exists(venv) else sys.executable


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fixtures", default=os.path.join(REPO, "testdata", "boundaries"))
    ap.add_argument("--codelists", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "rules", "pincer", "codelists"))
    ap.add_argument("--engines", default="duckdb,polars,reference")
    ap.add_argument("--format", default="csv")
    a = ap.parse_args()
    engines = a.engines.split(",")
    folders = sorted(d for d in os.listdir(a.fixtures)
                     if os.path.exists(os.path.join(a.fixtures, d, "expected.csv")))
    if not folders:
        sys.exit(f"no fixture folders with expected.csv under {a.fixtures}")
    work = tempfile.mkdtemp(prefix="pincer-fixtures-")
    total = {e: [0, 0] for e in engines}  # checked, wrong
    for name in folders:
        folder = os.path.join(a.fixtures, name)
        with open(os.path.join(folder, "expected.csv"), newline="", encoding="utf-8") as f:
            expected = list(csv.DictReader(f))
        practice_file = os.path.join(folder, "expected_practice.csv")
        expected_practice = []
        if os.path.exists(practice_file):
            with open(practice_file, newline="", encoding="utf-8") as f:
                expected_practice = list(csv.DictReader(f))
        dates = sorted({r["index_date"] for r in expected} | {r["index_date"] for r in expected_practice})
        for engine in engines:
            out = os.path.join(work, name, engine)
            os.makedirs(out, exist_ok=True)
            cmd = [python(), os.path.join(HERE, f"pincer_{engine}.py"), "--data", folder,
                   "--codelists", a.codelists, "--format", a.format,
                   *[x for d in dates for x in ("--index-date", d)],
                   "--out", os.path.join(out, "summary.csv"), "--patients", os.path.join(out, "patients.csv")]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"!! {name}/{engine}: engine failed\n{proc.stderr[-2000:]}")
                total[engine][1] += 1
                continue
            got = {}
            with open(os.path.join(out, "patients.csv"), newline="", encoding="utf-8") as f:
                for r in csv.DictReader(f):
                    got[(r["index_date"], r["patient_id"], r["measure"])] = (r["practice_pseudo_id"], truth(r["numerator"]))
            wrong = []
            for r in expected:
                k = (r["index_date"], r["patient_id"].strip(), r["measure"].strip())
                want_d, want_n = truth(r["denominator"]), truth(r["numerator"])
                have_d = k in got
                have_n = got[k][1] if have_d else False
                if (have_d, have_n) != (want_d, want_n):
                    wrong.append(f"   {k[0]} patient {k[1]} {k[2]}: expected den/num "
                                 f"{'T' if want_d else 'F'}/{'T' if want_n else 'F'}, got "
                                 f"{'T' if have_d else 'F'}/{'T' if have_n else 'F'}  ({r.get('case', '')})")
            practice_of = {(k[0], k[1]): v[0] for k, v in got.items()}
            for r in expected_practice:
                k = (r["index_date"], r["patient_id"].strip())
                if practice_of.get(k) != r["practice_pseudo_id"].strip():
                    wrong.append(f"   {k[0]} patient {k[1]}: expected practice {r['practice_pseudo_id']}, "
                                 f"got {practice_of.get(k, '(not in any denominator)')}  ({r.get('case', '')})")
            n = len(expected) + len(expected_practice)
            total[engine][0] += n
            total[engine][1] += len(wrong)
            status = "ok" if not wrong else f"{len(wrong)} MISMATCH(ES)"
            print(f"{name:>5} {engine:<9} {n:>3} expectations: {status}")
            for line in wrong:
                print(line)
    print()
    for e, (n, bad) in total.items():
        print(f"{e}: {n - bad} of {n} expectations met")
    sys.exit(1 if any(bad for _, bad in total.values()) else 0)


if __name__ == "__main__":
    main()
