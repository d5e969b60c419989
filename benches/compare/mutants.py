#!/usr/bin/env python3
"""Does a test extract exercise every rule boundary? Mutation check on the reference oracle.

    python mutants.py --data DIR [--index-date 2020-03-01 --index-date 2021-01-01] [--codelists DIR]

Each mutant is pincer_reference.py with one rule moved by one step (a window end made exclusive,
< for <=, a comparator allowed, the wrong codelist...). A mutant is "caught" when its patients.csv
differs from the unmutated oracle's on the extract. A missed mutant means the extract has no
patient on that boundary, so agreement between engines says nothing about it. Exit 1 if any
mutant is missed. Used to tune make_tiny_extract.py; the fixtures under testdata/ are for the rules.
"""

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

M = [
 ("W3 lower exclusive (together)", "xs = [d for d in md.get(x, []) if d is not None and m3 <= d <= I]", "xs = [d for d in md.get(x, []) if d is not None and m3 < d <= I]"),
 ("gap <27", "abs((a - b).days) < 28", "abs((a - b).days) < 27"),
 ("gap <=28", "abs((a - b).days) < 28", "abs((a - b).days) <= 28"),
 ("reg end >= I", "(r[1] is None or r[1] > I)", "(r[1] is None or r[1] >= I)"),
 ("reg start < I", "r[0] <= I and", "r[0] < I and"),
 ("death < I", 'p["dod"] <= I', 'p["dod"] < I'),
 ("age birthday", "(I.month, I.day) < (p[\"dob\"].month, p[\"dob\"].day)", "(I.month, I.day) <= (p[\"dob\"].month, p[\"dob\"].day)"),
 ("age <120", "18 <= age <= 120", "18 <= age < 120"),
 ("age >18", "18 <= age <= 120", "18 < age <= 120"),
 ("asthma <=", "max(resolved_dates) < max(asthma_dates)", "max(resolved_dates) <= max(asthma_dates)"),
 ("asthma window I", "e[0] <= m3]\n            resolved", "e[0] <= I]\n            resolved"),
 ("resolved window m3", "e[0] <= I]\n            asthma =", "e[0] <= m3]\n            asthma ="),
 ("asthma no-resolved excluded", "(not resolved_dates or max", "(bool(resolved_dates) and max"),
 ("egfr < m3", 'ev.get("egfr", []) if e[0] is not None and e[0] <= m3', 'ev.get("egfr", []) if e[0] is not None and e[0] < m3'),
 ("egfr ~ allowed", 'c not in (">", ">=", "~")', 'c not in (">", ">=")'),
 ("egfr <1 allowed", 'and not (v == 1 and c == "<")', ''),
 ("egfr <=45", "1 <= v < 45", "1 <= v <= 45"),
 ("egfr >1", "1 <= v < 45", "1 < v < 45"),
 ("egfr any low", "last = min(egfrs", "last = min([e for e in egfrs if 1 <= (e[1] or 0) < 45] or egfrs"),
 ("acei old <= m12", 'issued("acei", None, m15)', 'issued("acei", None, m12)'),
 ("diur recent from m3", 'issued("diur", m6, I)', 'issued("diur", m3, I)'),
 ("ac age 65", "den = age >= 75", "den = age >= 65"),
 ("ac and->or monitored", 'recorded("renal", m15, I) and recorded("electro", m15, I)', 'recorded("renal", m15, I) or recorded("electro", m15, I)'),
 ("renal W12", 'recorded("renal", m15, I)', 'recorded("renal", m12, I)'),
 ("met 6_3 excl m3", 'issued("met", m6, m3)', 'issued("met", m6, m3 - dt.timedelta(days=1))'),
 ("lith 3 excl m3", 'issued("lith", m3, I)', 'issued("lith", m3 + dt.timedelta(days=1), I)'),
 ("amio 12_6 excl m6", 'issued("amio", m12, m6)', 'issued("amio", m12, m6 - dt.timedelta(days=1))'),
 ("amio 12_6 excl m12", 'issued("amio", m12, m6)', 'issued("amio", m12 + dt.timedelta(days=1), m6)'),
 ("tft W3", 'recorded("tft", m6, I)', 'recorded("tft", m3, I)'),
 ("fbc excl I", 'recorded("fbc", m3, I)', 'recorded("fbc", m3, I - dt.timedelta(days=1))'),
 ("lith_lev excl m3", 'recorded("lith_lev", m3, I)', 'recorded("lith_lev", m3 + dt.timedelta(days=1), I)'),
 ("ulcer <= I", 'ulcer = recorded("pep", None, m3) or recorded("gi_bleed", None, m3)', 'ulcer = recorded("pep", None, I) or recorded("gi_bleed", None, I)'),
 ("hf <= I", 'hf = recorded("hf", None, m3)', 'hf = recorded("hf", None, I)'),
 ("nsaid excl I", 'nsaid = issued("nsaid", m3, I)', 'nsaid = issued("nsaid", m3, I - dt.timedelta(days=1))'),
 ("ppi excl m3", 'ppi = issued("ppi", m3, I)', 'ppi = issued("ppi", m3 + dt.timedelta(days=1), I)'),
 ("c aspirin only", "den and (asp or nonasp)", "den and asp"),
 ("sex 'male' ignored", '{"m": "M", "male": "M", "f": "F", "female": "F"}', '{"m": "M", "f": "F"}'),
 ("no trim codes", "    s = str(v).strip()\n    return s or None", "    s = str(v)\n    return s or None"),
 ("attrib end null earliest", "-(r[1] or latest).toordinal()", "-(r[1] or dt.date.min).toordinal()"),
 ("attrib earliest start", "key=lambda r: (-r[0].toordinal(),", "key=lambda r: (r[0].toordinal(),"),
 ("attrib full tie: last in file", "-(r[1] or latest).toordinal(), r[3]))", "-(r[1] or latest).toordinal(), -r[3]))"),
 ("e uses aspirin only", 'together("anticoag", "antiplat")', 'together("anticoag", "aspirin")'),
 ("d excludes PPI users", 'res["d"] = (oac, oac and nsaid)', 'res["d"] = (oac and not ppi, oac and not ppi and nsaid)'),
 ("a age 66", "den = age >= 65 and not ppi", "den = age >= 66 and not ppi"),
 ("f: aspirin pairs with aspirin", 'together("aspirin", "non_asp_antiplate")', 'together("aspirin", "antiplat")'),
 ("egfr missing value = 30", "v, c = last[1] or 0.0, last[2]", "v, c = (30.0 if last[1] is None else last[1]), last[2]"),
 ("egfr <= rejected", 'c not in (">", ">=", "~")', 'c not in (">", ">=", "~", "<=")'),
 ("resolved after I counts", "e[0] <= I]\n            asthma =", "e[0] <= dt.date.max]\n            asthma ="),
 ("nsaid after I counts", 'nsaid = issued("nsaid", m3, I)', 'nsaid = issued("nsaid", m3, dt.date.max)'),
 ("g numerator nsbb W6", 'issued("nsbb", m3, I)', 'issued("nsbb", m6, I)'),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--index-date", action="append")
    ap.add_argument("--codelists", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "rules", "pincer", "codelists"))
    a = ap.parse_args()
    dates = [x for d in (a.index_date or ["2020-03-01", "2021-01-01"]) for x in ("--index-date", d)]
    src = open(os.path.join(HERE, "pincer_reference.py"), encoding="utf-8").read()
    tmp = tempfile.mkdtemp(prefix="pincer-mutants-")
    shutil.copy(os.path.join(HERE, "common.py"), tmp)

    def run(code, name):
        script = os.path.join(tmp, f"{name}.py")
        open(script, "w", encoding="utf-8").write(code)
        out = os.path.join(tmp, f"{name}.patients.csv")
        subprocess.run([sys.executable, script, "--data", a.data, "--codelists", a.codelists, *dates,
                        "--out", os.path.join(tmp, f"{name}.summary.csv"), "--patients", out], check=True)
        return out

    baseline = run(src, "baseline")
    missed = []
    for i, (name, old, new) in enumerate(M):
        if old not in src:
            sys.exit(f"mutant {name!r}: pattern not found in pincer_reference.py (update mutants.py)")
        caught = not filecmp.cmp(baseline, run(src.replace(old, new, 1), f"m{i}"), shallow=False)
        print(f"{'caught' if caught else 'MISSED'}  {name}")
        if not caught:
            missed.append(name)
    shutil.rmtree(tmp)
    print(f"{len(M) - len(missed)} of {len(M)} mutants caught")
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
