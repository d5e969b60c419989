#!/usr/bin/env python3
"""A slow, literal pure-Python oracle for the 14 PINCER measures (test aid, not a benchmark peer).

It loops over patients and index dates and follows INDICATORS.md sentence by sentence, sharing no
rule code with the DuckDB and polars peers, so that a misreading common to those two shows up as
a disagreement with this one. Small extracts only (everything is held in Python objects).

    python pincer_reference.py --data DIR --codelists DIR --index-date 2020-03-01 [...] \
        --out summary.csv [--composites F] [--patients F]
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (  # noqa: E402
    CODE_COLUMN, CODELISTS, COMPOSITES, MEASURES, codelist_path, parse_args,
    practice_sort_key, table_path,
)


def months_back(d: dt.date, n: int) -> dt.date:
    """§2.2, written independently of common.minus_months."""
    y, m = d.year, d.month
    for _ in range(n):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    return dt.date(y, m, d.day)  # raises for a missing day, like cohort-extractor


def read_rows(data: str, table: str, fmt: str) -> list[dict]:
    path = table_path(data, table, fmt)
    if fmt == "csv":
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    import pyarrow.parquet as pq
    return pq.read_table(path).to_pylist()


def text(v):
    if v is None:
        return None
    s = str(v).strip()
    return s or None


def day(v):
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    s = str(v).strip()
    return dt.date.fromisoformat(s[:10]) if s else None


def number(v):
    if v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v)
    s = str(v).strip()
    return float(s) if s else None


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    lists: dict[str, set[str]] = {}
    for name, kind in CODELISTS.items():
        with open(codelist_path(args.codelists, name), newline="", encoding="utf-8") as f:
            lists[name] = {row[CODE_COLUMN[kind]].strip() for row in csv.DictReader(f)}
    med_lists = [n for n, k in CODELISTS.items() if k == "dmd"]
    ev_lists = [n for n, k in CODELISTS.items() if k == "snomed"]

    people = {}
    for row in read_rows(args.data, "patients", args.format):
        sex = (text(row["sex"]) or "").lower()
        people[int(str(row["patient_id"]).strip())] = {
            "dob": day(row["date_of_birth"]),
            "sex": {"m": "M", "male": "M", "f": "F", "female": "F"}.get(sex),
            "dod": day(row["date_of_death"]),
        }
    regs = defaultdict(list)  # (start, end, practice, row number in the file)
    for n, row in enumerate(read_rows(args.data, "practice_registrations", args.format)):
        regs[int(str(row["patient_id"]).strip())].append(
            (day(row["start_date"]), day(row["end_date"]), text(row["practice_pseudo_id"]), n))
    # per patient: list name -> list of dates (medications), list name -> list of events
    meds = defaultdict(lambda: defaultdict(list))
    for row in read_rows(args.data, "medications", args.format):
        code = text(row["dmd_code"])
        for name in med_lists:
            if code in lists[name]:
                meds[int(str(row["patient_id"]).strip())][name].append(day(row["date"]))
    events = defaultdict(lambda: defaultdict(list))
    for n, row in enumerate(read_rows(args.data, "clinical_events", args.format)):
        code = text(row["snomedct_code"])
        for name in ev_lists:
            if code in lists[name]:
                events[int(str(row["patient_id"]).strip())][name].append(
                    (day(row["date"]), number(row.get("numeric_value")), text(row.get("comparator")) or "", n))

    results = []  # (index_date, patient_id, practice, {measure: (den, num)})
    for I in args.index_date:
        m3, m6, m12, m15 = (months_back(I, n) for n in (3, 6, 12, 15))
        for pid, p in people.items():
            # §2.7 base population
            current = [r for r in regs.get(pid, []) if r[0] is not None and r[0] <= I and (r[1] is None or r[1] > I)]
            if not current:
                continue
            if p["dod"] is not None and p["dod"] <= I:
                continue
            if p["dob"] is None:
                continue
            age = I.year - p["dob"].year - (1 if (I.month, I.day) < (p["dob"].month, p["dob"].day) else 0)
            if not 18 <= age <= 120 or p["sex"] not in ("M", "F"):
                continue
            latest = dt.date.max
            # latest start, then latest end (ongoing = latest), then first in the file
            current.sort(key=lambda r: (-r[0].toordinal(), -(r[1] or latest).toordinal(), r[3]))
            practice = current[0][2]

            md, ev = meds.get(pid, {}), events.get(pid, {})

            def issued(name, lo, hi):
                return any((lo is None or lo <= d) and d <= hi for d in md.get(name, []) if d is not None)

            def recorded(name, lo, hi):
                return any((lo is None or lo <= e[0]) and e[0] <= hi for e in ev.get(name, []) if e[0] is not None)

            def together(x, y):
                xs = [d for d in md.get(x, []) if d is not None and m3 <= d <= I]
                ys = [d for d in md.get(y, []) if d is not None and m3 <= d <= I]
                return any(abs((a - b).days) < 28 for a in xs for b in ys)

            nsaid = issued("nsaid", m3, I)
            ppi = issued("ppi", m3, I)
            oac = issued("anticoag", m3, I)
            asp = issued("aspirin", m3, I)
            nonasp = issued("non_asp_antiplate", m3, I)
            ulcer = recorded("pep", None, m3) or recorded("gi_bleed", None, m3)

            asthma_dates = [e[0] for e in ev.get("ast", []) if e[0] is not None and e[0] <= m3]
            resolved_dates = [e[0] for e in ev.get("ast_res", []) if e[0] is not None and e[0] <= I]
            asthma = bool(asthma_dates) and (not resolved_dates or max(resolved_dates) < max(asthma_dates))

            egfrs = [e for e in ev.get("egfr", []) if e[0] is not None and e[0] <= m3]
            egfr_low = False
            if egfrs:
                # latest date; same-day ties (DATA-CONTRACT): the smallest value, a missing one
                # last, then the smallest comparator as text; then the first in the file
                last = min(egfrs, key=lambda e: (-e[0].toordinal(), e[1] is None, e[1] or 0.0, e[2], e[3]))
                v, c = last[1] or 0.0, last[2]
                egfr_low = 1 <= v < 45 and c not in (">", ">=", "~") and not (v == 1 and c == "<")

            res = {}
            den = age >= 65 and not ppi
            res["a"] = (den, den and nsaid)
            den = not ppi and ulcer
            res["b"] = (den, den and nsaid)
            res["c"] = (den, den and (asp or nonasp))
            res["d"] = (oac, oac and nsaid)
            den = oac and not ppi
            res["e"] = (den, den and together("anticoag", "antiplat"))
            den = asp and not ppi
            res["f"] = (den, den and together("aspirin", "non_asp_antiplate"))
            res["g"] = (asthma, asthma and issued("nsbb", m3, I))
            hf = recorded("hf", None, m3)
            res["i"] = (hf, hf and nsaid)
            res["k"] = (egfr_low, egfr_low and nsaid)
            ace_lt = issued("acei", None, m15) and issued("acei", m6, I)
            loop_lt = issued("diur", None, m15) and issued("diur", m6, I)
            den = age >= 75 and (ace_lt or loop_lt)
            monitored = recorded("renal", m15, I) and recorded("electro", m15, I)
            res["ac"] = (den, den and not monitored)
            den = issued("met", m6, m3) and issued("met", m3, I)
            res["me_no_fbc"] = (den, den and not recorded("fbc", m3, I))
            res["me_no_lft"] = (den, den and not recorded("lft", m3, I))
            den = issued("lith", m6, m3) and issued("lith", m3, I)
            res["li"] = (den, den and not recorded("lith_lev", m3, I))
            den = issued("amio", m12, m6) and issued("amio", m6, I)
            res["am"] = (den, den and not recorded("tft", m6, I))
            results.append((I, pid, practice, res))

    practices = sorted({(r[0], r[2]) for r in results})
    key = practice_sort_key({p for _, p in practices})
    practices.sort(key=lambda x: (x[0], key(x[1])))
    counts = defaultdict(int)
    for I, pid, practice, res in results:
        for m, (d, n) in res.items():
            counts[(I, practice, m, "d")] += d
            counts[(I, practice, m, "n")] += n
        for comp, members in COMPOSITES.items():
            counts[(I, practice, comp, "cden")] += any(res[m][0] for m in members)
            counts[(I, practice, comp, sum(res[m][1] for m in members))] += 1

    with open(args.out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["index_date", "practice_pseudo_id", "measure", "numerator", "denominator", "rate"])
        for I, practice in practices:
            for m in MEASURES:
                n, d = counts[(I, practice, m, "n")], counts[(I, practice, m, "d")]
                w.writerow([I, practice, m, n, d, f"{100.0 * n / d:.2f}" if d else ""])
    if args.composites:
        with open(args.composites, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["index_date", "practice_pseudo_id", "composite", "denominator", "n_numerators", "patients"])
            for I, practice in practices:
                for comp, members in COMPOSITES.items():
                    for n in range(1, len(members) + 1):
                        w.writerow([I, practice, comp, counts[(I, practice, comp, "cden")], n,
                                    counts[(I, practice, comp, n)]])
    if args.patients:
        with open(args.patients, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["index_date", "patient_id", "practice_pseudo_id", "measure", "numerator"])
            for I, pid, practice, res in sorted(results, key=lambda r: (r[0], r[1])):
                for m in MEASURES:
                    if res[m][0]:
                        w.writerow([I, pid, practice, m, "true" if res[m][1] else "false"])


if __name__ == "__main__":
    main()
