#!/usr/bin/env python3
"""Write a small random GP extract (DATA-CONTRACT layout) for cross-checking the PINCER engines.

    python make_tiny_extract.py --out /tmp/pincer_tiny [--patients 3000] [--seed 1] \
        [--index-date 2020-03-01 --index-date 2021-01-01] [--codelists DIR]

writes OUT/csv/{patients,practice_registrations,medications,clinical_events}.csv and the same
tables as OUT/parquet/*.parquet. The data are built to hit the edges of the rules, not to look
like a real population:
- ages clustered on the 18/65/75/120 thresholds at the index dates (some birthdays off the 1st),
  sex spelled in every accepted way plus I/U/unknown/empty, deaths on and around the index dates;
- registrations that start or end on, one day before or one day after an index date, overlapping
  registrations at several practices (practice ids that sort differently as text and as numbers);
- issues and events with codes drawn from the 24 codelists, dated on and one or two days around
  every window boundary (I, I-1m, I-2m, I-3m, I-6m, I-12m, I-15m), co-prescription pairs 26-29
  days apart, eGFR values around 1 and 45 with every comparator, asthma and resolved codes on the
  same day, before and after each other; plus plenty of codes in no codelist, records after the
  index date, codes with stray spaces, rows in random order and an extra ignored column.
- Registrations with the same start and end date occur (the first in the file wins, standing in
  for the registration id, as testdata/boundaries/base does). Same-day eGFR records do not: the
  spec leaves that tie-break open, so no patient has two eGFR records on one day.

Parquet column types differ on purpose (DATE in some tables, ISO strings in others; integer
practice ids) because the contract allows both. Pure Python: fine up to ~100k patients.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import sys

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import CODE_COLUMN, CODELISTS, codelist_path, minus_months  # noqa: E402

DEFAULT_CODELISTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "rules", "pincer", "codelists")
PRACTICES = ["7", "23", "55", "101", "300", "1002"]  # text order != numeric order
D = dt.timedelta


def read_codelists(folder):
    lists = {}
    for name, kind in CODELISTS.items():
        with open(codelist_path(folder, name), newline="", encoding="utf-8") as f:
            lists[name] = sorted({row[CODE_COLUMN[kind]].strip() for row in csv.DictReader(f)})
    return lists


class Gen:
    def __init__(self, rng, index_dates, lists, egfr_ties=False):
        self.r = rng
        self.egfr_ties = egfr_ties
        self.idx = index_dates
        self.lists = lists
        # every window boundary of every index date
        self.bounds = sorted({minus_months(i, n) for i in index_dates for n in (0, 1, 2, 3, 6, 12, 15)})
        all_codes = {c for codes in lists.values() for c in codes}
        self.noise_med = self._noise_codes(400, all_codes)
        self.noise_ev = self._noise_codes(400, all_codes)

    def _noise_codes(self, n, avoid):
        out = set()
        while len(out) < n:
            c = str(self.r.randrange(10 ** 7, 10 ** 17))
            if c not in avoid:
                out.add(c)
        return sorted(out)

    # ---- dates --------------------------------------------------------------------------------
    def near(self, day, spread=(-2, -1, -1, 0, 0, 0, 1, 1, 2)):
        return day + D(days=self.r.choice(spread))

    def boundary_date(self):
        return self.near(self.r.choice(self.bounds))

    def any_date(self, start=dt.date(2014, 1, 1), end=dt.date(2021, 6, 30)):
        return start + D(days=self.r.randrange((end - start).days + 1))

    def event_date(self):
        return self.boundary_date() if self.r.random() < 0.6 else self.any_date()

    def code(self, name, messy=0.02):
        c = self.r.choice(self.lists[name])
        if self.r.random() < messy:
            c = self.r.choice([" ", "", "  ", "\u00a0"]) + c + self.r.choice([" ", "\t", "", "\u3000"])
        return c

    # ---- one patient ---------------------------------------------------------------------------
    def patient(self, pid):
        r = self.r
        i = r.choice(self.idx)
        # date of birth: thresholds first, then a broad adult-heavy spread
        u = r.random()
        if u < 0.15:
            age = r.choice([17, 18, 64, 65, 74, 75, 120, 121])
            dob = dt.date(i.year - age, i.month, 1)
            dob = r.choice([dob, minus_months(dob, 1), minus_months(dob, -1)])
        elif u < 0.20:
            dob = dt.date(r.randrange(2004, 2019), r.randrange(1, 13), 1)
        elif u < 0.55:
            dob = dt.date(r.randrange(1956, 2002), r.randrange(1, 13), 1)
        else:
            dob = dt.date(r.randrange(1915, 1956), r.randrange(1, 13), 1)
        if r.random() < 0.05:  # birthdays off the 1st, some on the index day-of-month
            dob = dob.replace(day=r.choice([2, 15, 28]))
        if r.random() < 0.003:
            dob = dt.date(r.choice([1944, 1952]), 2, 29)
        sex = r.choices(["M", "F", "male", "female", "Male", "FEMALE", "m", "f", "I", "U",
                         "intersex", "unknown", ""],
                        weights=[35, 35, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1, 2])[0]
        dod = None
        u = r.random()
        if u < 0.04:
            dod = self.near(r.choice(self.idx), (-1, 0, 1))
        elif u < 0.07:
            dod = self.any_date(dt.date(2018, 1, 1), dt.date(2022, 1, 1))
        patient = (pid, dob, sex, dod)

        regs = []

        def add_reg(start, end, practice):
            regs.append((pid, start, end, practice))

        home = r.choice(PRACTICES)
        u = r.random()
        start = self.near(i, (-1, 0, 1)) if u < 0.05 else self.any_date(dt.date(1990, 1, 1), dt.date(2019, 6, 1))
        end = None
        u = r.random()
        if u < 0.08:
            end = self.near(r.choice(self.idx), (-1, 0, 1))
        elif u < 0.18:
            end = self.any_date(max(start, dt.date(2015, 1, 1)), dt.date(2022, 6, 1))
        add_reg(start, end, home)
        if r.random() < 0.25:  # a second, possibly overlapping registration elsewhere
            other = r.choice(PRACTICES)
            s2 = self.near(r.choice(self.idx), (-40, -1, 0, 1, 20)) if r.random() < 0.5 else \
                self.any_date(dt.date(2000, 1, 1), dt.date(2020, 12, 1))
            e2 = None if r.random() < 0.6 else s2 + D(days=r.randrange(1, 900))
            add_reg(s2, e2, other)
        if r.random() < 0.05:  # same start as the first one: the end decides, or the file order
            add_reg(start, r.choice([None, end, self.near(r.choice(self.idx), (-1, 0, 1, 30))]),
                    r.choice(PRACTICES))
        if r.random() < 0.03:
            add_reg(self.any_date(dt.date(2021, 2, 1), dt.date(2022, 1, 1)), None, r.choice(PRACTICES))

        meds = []
        evs = []

        def ev(name, day, value=None, comp=""):
            evs.append((pid, day, self.code(name), value, comp))

        def med(name, day, code=None):
            meds.append((pid, day, code if code is not None else self.code(name)))

        # medication profiles
        n_profiles = r.choices([0, 1, 2, 3, 4], weights=[15, 30, 30, 15, 10])[0]
        chosen = r.sample(PROFILES, n_profiles)
        for prof in chosen:
            prof(self, med, i)
        # monitoring tests for monitored drugs, mostly near the edge of their window
        for prof, tests, months in ((p_methotrexate, ("fbc", "lft"), 3), (p_lithium, ("lith_lev",), 3),
                                    (p_amiodarone, ("tft",), 6), (p_acei, ("renal", "electro"), 15),
                                    (p_loop, ("renal", "electro"), 15)):
            if prof in chosen:
                for test in tests:
                    if r.random() < 0.7:
                        day = self.near(minus_months(i, months)) if r.random() < 0.6 else \
                            self.near(i, (-40, -10, -1, 0, 1))
                        ev(test, day)
        for _ in range(r.randrange(0, 25)):
            meds.append((pid, self.any_date(), r.choice(self.noise_med)))

        # clinical profiles
        n_profiles = r.choices([0, 1, 2, 3, 4], weights=[15, 30, 30, 15, 10])[0]
        for prof in r.sample(CLINICAL, n_profiles):
            prof(self, ev, i)
        for _ in range(r.randrange(0, 25)):
            v = round(r.uniform(0, 200), 1) if r.random() < 0.3 else None
            evs.append((pid, self.any_date(), r.choice(self.noise_ev), v, ""))
        # no same-day eGFR ties within a patient (the spec leaves the tie-break open)
        egfr = set(self.lists["egfr"])
        seen = set()
        kept = []
        for e in evs:
            if e[2].strip() in egfr and not self.egfr_ties:
                if e[1] in seen:
                    continue
                seen.add(e[1])
            kept.append(e)
        return patient, regs, meds, kept


# ---- medication profiles: each adds issues for one hazard, dated around the boundaries -----------

def p_nsaid(g, med, i):
    for _ in range(g.r.randrange(1, 4)):
        med("nsaid", g.event_date())


def p_ppi(g, med, i):
    for _ in range(g.r.randrange(1, 3)):
        med("ppi", g.event_date())


def p_oac_antiplatelet(g, med, i):
    day = g.near(g.r.choice([i, minus_months(i, 1), minus_months(i, 2), minus_months(i, 3)]), (-3, -1, 0, 0, 1, 3))
    med("anticoag", day)
    gap = g.r.choice([-29, -28, -27, -26, -10, 0, 0, 10, 26, 27, 28, 29, 45])
    med(g.r.choice(["aspirin", "non_asp_antiplate"]), day + D(days=gap))
    if g.r.random() < 0.3:
        med("anticoag", g.event_date())


def p_aspirin_other(g, med, i):
    day = g.near(g.r.choice([i, minus_months(i, 1), minus_months(i, 2), minus_months(i, 3)]), (-3, -1, 0, 0, 1, 3))
    med("aspirin", day)
    if g.r.random() < 0.85:
        gap = g.r.choice([-29, -28, -27, -26, -5, 0, 0, 5, 26, 27, 28, 29, 60])
        med("non_asp_antiplate", day + D(days=gap))


def p_nsbb(g, med, i):
    for _ in range(g.r.randrange(1, 3)):
        med("nsbb", g.event_date())


def _two_windows(g, med, name, i, recent_edge, old_edge):
    """Issues around the boundary shared by the 'old' and 'recent' windows (me, li, am, ac)."""
    for edge in (recent_edge, old_edge):
        if g.r.random() < 0.85:
            med(name, g.near(minus_months(i, edge)))
    if g.r.random() < 0.5:  # a monthly series through the period
        start = minus_months(i, g.r.randrange(1, 20))
        for k in range(g.r.randrange(1, 12)):
            med(name, start + D(days=28 * k))


def p_methotrexate(g, med, i):
    _two_windows(g, med, "met", i, 0, 3)
    if g.r.random() < 0.5:
        med("met", g.near(minus_months(i, 6)))


def p_lithium(g, med, i):
    _two_windows(g, med, "lith", i, 0, 3)
    if g.r.random() < 0.5:
        med("lith", g.near(minus_months(i, 6)))


def p_amiodarone(g, med, i):
    _two_windows(g, med, "amio", i, 6, 12)
    if g.r.random() < 0.5:
        med("amio", g.near(i))


def p_acei(g, med, i):
    _two_windows(g, med, "acei", i, 6, 15)
    if g.r.random() < 0.5:
        med("acei", g.near(i, (-60, -20, 0)))


def p_loop(g, med, i):
    _two_windows(g, med, "diur", i, 6, 15)
    if g.r.random() < 0.5:
        med("diur", g.near(i, (-60, -20, 0)))


def p_combo(g, med, i):
    """Codes that sit in two lists: NSAID+PPI, aspirin+PPI, timolol/amiloride (diur+nsbb)."""
    a, b = g.r.choice([("nsaid", "ppi"), ("aspirin", "ppi"), ("diur", "nsbb")])
    both = sorted(set(g.lists[a]) & set(g.lists[b]))
    for _ in range(g.r.randrange(1, 3)):
        med(None, g.event_date(), code=g.r.choice(both))


PROFILES = [p_nsaid, p_nsaid, p_ppi, p_oac_antiplatelet, p_aspirin_other, p_nsbb, p_methotrexate,
            p_lithium, p_amiodarone, p_acei, p_loop, p_combo]


# ---- clinical profiles -------------------------------------------------------------------------

def c_ulcer(g, ev, i):
    ev(g.r.choice(["pep", "gi_bleed"]), g.near(minus_months(i, 3)) if g.r.random() < 0.6 else g.any_date())


def c_asthma(g, ev, i):
    last = g.near(minus_months(i, 3)) if g.r.random() < 0.6 else g.any_date()
    ev("ast", last)
    if g.r.random() < 0.4:
        ev("ast", last - D(days=g.r.randrange(30, 2000)))
    u = g.r.random()
    if u < 0.45:
        ev("ast_res", last + D(days=g.r.choice([-400, -1, 0, 0, 1, 30, 100])))
    elif u < 0.55:
        ev("ast_res", g.near(i, (-1, 0, 1)))


def c_hf(g, ev, i):
    ev("hf", g.near(minus_months(i, 3)) if g.r.random() < 0.6 else g.any_date())


def c_egfr(g, ev, i):
    values = [None, None, 0, 0.5, 1, 1, 1.5, 15, 29.9, 30, 44, 44.9, 45, 45, 46, 60, 90, 120]
    comps = ["", "", "", "", "=", "<", "<", "<=", ">", ">=", "~"]
    day = None
    for _ in range(g.r.randrange(1, 4)):
        if day is None or not g.egfr_ties or g.r.random() < 0.5:
            day = g.near(minus_months(i, 3)) if g.r.random() < 0.6 else g.any_date(dt.date(2016, 1, 1))
        ev("egfr", day, g.r.choice(values), g.r.choice(comps))


def c_renal_elec(g, ev, i):
    for name in ("renal", "electro"):
        if g.r.random() < 0.75:
            ev(name, g.near(minus_months(i, 15)) if g.r.random() < 0.5 else g.any_date(), g.r.choice([None, 5.1, 80]))


def c_monitoring(g, ev, i):
    for name, months in (("fbc", 3), ("lft", 3), ("lith_lev", 3), ("tft", 6)):
        if g.r.random() < 0.5:
            ev(name, g.near(minus_months(i, months)) if g.r.random() < 0.6 else g.any_date())


CLINICAL = [c_ulcer, c_asthma, c_hf, c_egfr, c_egfr, c_renal_elec, c_monitoring, c_monitoring]


# ---- writing -----------------------------------------------------------------------------------

def iso(d):
    return "" if d is None else d.isoformat()


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for row in rows:
            w.writerow(["" if v is None else (v.isoformat() if isinstance(v, dt.date) else v) for v in row])


def write_parquet(path, header, rows, types):
    cols = list(zip(*rows)) if rows else [[] for _ in header]
    arrays = []
    for name, col in zip(header, cols):
        t = types.get(name, "str")
        if t == "date":
            arrays.append(pa.array(list(col), pa.date32()))
        elif t == "datestr":
            arrays.append(pa.array([None if v is None else v.isoformat() for v in col], pa.string()))
        elif t == "int":
            arrays.append(pa.array([None if v in (None, "") else int(v) for v in col], pa.int64()))
        elif t == "float":
            arrays.append(pa.array([None if v in (None, "") else float(v) for v in col], pa.float64()))
        else:
            arrays.append(pa.array([None if v is None else str(v) for v in col], pa.string()))
    pq.write_table(pa.table(arrays, names=list(header)), path, row_group_size=20_000)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--patients", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--index-date", action="append", type=dt.date.fromisoformat)
    ap.add_argument("--codelists", default=DEFAULT_CODELISTS)
    ap.add_argument("--egfr-ties", action="store_true",
                    help="also write same-day eGFR records (the engines here take the first in the file)")
    args = ap.parse_args()
    index_dates = sorted(set(args.index_date or [dt.date(2020, 3, 1), dt.date(2021, 1, 1)]))

    rng = random.Random(args.seed)
    gen = Gen(rng, index_dates, read_codelists(args.codelists), args.egfr_ties)
    patients, regs, meds, evs = [], [], [], []
    for pid in rng.sample(range(1, 10 ** 9), args.patients):
        p, rg, md, ev = gen.patient(pid)
        patients.append(p)
        regs.extend(rg)
        meds.extend(md)
        evs.extend(ev)
    for rows in (patients, regs, meds, evs):
        rng.shuffle(rows)

    # an extra column the engines must ignore
    meds = [(pid, day, code, rng.randrange(1, 10 ** 6)) for pid, day, code in meds]

    tables = {
        "patients": (("patient_id", "date_of_birth", "sex", "date_of_death"), patients,
                     {"patient_id": "int", "date_of_birth": "date", "date_of_death": "date"}),
        "practice_registrations": (("patient_id", "start_date", "end_date", "practice_pseudo_id"), regs,
                                   {"patient_id": "int", "start_date": "datestr", "end_date": "datestr",
                                    "practice_pseudo_id": "int"}),
        "medications": (("patient_id", "date", "dmd_code", "consultation_id"), meds,
                        {"patient_id": "int", "date": "date", "consultation_id": "int"}),
        "clinical_events": (("patient_id", "date", "snomedct_code", "numeric_value", "comparator"), evs,
                            {"patient_id": "int", "date": "datestr", "numeric_value": "float"}),
    }
    for sub in ("csv", "parquet"):
        os.makedirs(os.path.join(args.out, sub), exist_ok=True)
    for name, (header, rows, types) in tables.items():
        write_csv(os.path.join(args.out, "csv", f"{name}.csv"), header, rows)
        write_parquet(os.path.join(args.out, "parquet", f"{name}.parquet"), header, rows, types)
    print(f"wrote {args.out}/csv and {args.out}/parquet: {len(patients)} patients, "
          f"{len(regs)} registrations, {len(meds)} medication issues, {len(evs)} clinical events; "
          f"index dates {' '.join(d.isoformat() for d in index_dates)}")


if __name__ == "__main__":
    main()
