#!/usr/bin/env python3
"""One-off conversion of testdata/boundaries/<folder>/ into rules/pincer/tests/<folder>.toml.

Every row of the four tables is carried over as written (absolute dates, the same codes and
values, each patient's rows in their input order); every expectation of expected.csv (and
base/expected_practice.csv) is carried over unchanged; the README's preamble becomes the
file's leading comments and each case's reasoning a comment above its patient. Nothing here
runs rxscan: the expected values are copied from the hand-made fixtures, never from output.

Run from the repository root: python3 testdata/boundaries/to_toml.py
It prints, per folder, the number of (index date, patient, measure) expectations read and
written, and fails if they differ.
"""

import collections
import csv
import os
import re
import sys
import textwrap

SRC = "testdata/boundaries"
DST = "rules/pincer/tests"
OUTCOME = {("true", "true"): "numerator", ("true", "false"): "denominator",
           ("false", "false"): "excluded"}


def q(s):
    """A TOML basic string."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def num_or_str(v):
    """A numeric_value as TOML: a number written as in the CSV, or a string."""
    if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", v):
        return v
    return q(v)


def practice(p):
    return p if re.fullmatch(r"[1-9][0-9]*", p) else q(p)


def rows(folder, table):
    with open(os.path.join(SRC, folder, table + ".csv"), newline="") as f:
        return list(csv.DictReader(f))


def readme(folder):
    text = open(os.path.join(SRC, folder, "README.md")).read().split("\n")
    head = next(i for i, l in enumerate(text) if l.startswith("| id"))
    preamble = text[:head]
    reasons, cases = {}, {}
    for line in text[head + 2:]:
        if not line.startswith("|"):
            assert not line.strip(), f"{folder}: text after the table: {line!r}"
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        assert len(cells) == 4, (folder, line)
        reasons[int(cells[0])] = cells[3]
        cases[int(cells[0])] = cells[2]
    return preamble, reasons, cases


def convert(folder):
    preamble, reasons, readme_cases = readme(folder)
    patients = rows(folder, "patients")
    by = {t: collections.defaultdict(list) for t in
          ("practice_registrations", "medications", "clinical_events")}
    for t in by:
        for r in rows(folder, t):
            by[t][int(r["patient_id"])].append(r)
    ids = [int(p["patient_id"]) for p in patients]
    assert len(ids) == len(set(ids)), folder
    for t in by:
        assert set(by[t]) <= set(ids), (folder, t, "rows of a patient not in patients.csv")
    expected = rows(folder, "expected")
    exp = collections.defaultdict(list)
    for e in expected:
        exp[int(e["patient_id"])].append(e)
    practice_exp = {}
    if os.path.exists(os.path.join(SRC, folder, "expected_practice.csv")):
        for r in rows(folder, "expected_practice"):
            practice_exp[int(r["patient_id"])] = r
    assert set(exp) <= set(ids) and set(practice_exp) <= set(ids), folder

    # The file's index date is the most common one; other patients name theirs.
    dates = collections.Counter(e["index_date"] for e in expected)
    index_date = dates.most_common(1)[0][0]
    # Defaults: the most common date of birth and single ongoing registration start.
    born = collections.Counter(p["date_of_birth"] for p in patients).most_common(1)[0][0]
    starts = collections.Counter(
        regs[0]["start_date"] for regs in by["practice_registrations"].values()
        if len(regs) == 1 and regs[0]["end_date"] == "")
    registered = starts.most_common(1)[0][0]

    out = [f"# Converted from testdata/boundaries/{folder}/ (its README.md follows); every row and",
           "# expected value as written there, worked by hand from INDICATORS.md.", "#"]
    for line in preamble:
        line = line[2:] if line.startswith("# ") else line  # the Markdown title
        wrapped = textwrap.wrap(line, 96) or [""]
        out += [("# " + w).rstrip() for w in wrapped]
    out += ["", f"index_date = {q(index_date)}", "", "[defaults]",
            f"born = {q(born)}", f"registered = {q(registered)}", "practice = 1", ""]
    written = 0
    for p in patients:
        pid = int(p["patient_id"])
        es = exp.get(pid, [])
        pdates = {e["index_date"] for e in es} | (
            {practice_exp[pid]["index_date"]} if pid in practice_exp else set())
        assert len(pdates) <= 1, (folder, pid, "one index date per patient")
        cases = {e["case"] for e in es}
        assert len(cases) <= 1, (folder, pid)
        case = cases.pop() if cases else readme_cases.get(pid, "")
        if pid in reasons:
            out += ["# " + w for w in textwrap.wrap(reasons[pid], 96)]
        out.append("[[patient]]")
        out.append(f"id = {pid}")
        out.append(f"case = {q(case)}")
        if pdates and pdates != {index_date}:
            out.append(f"index_date = {q(pdates.pop())}")
        if p["date_of_birth"] != born:
            out.append(f"born = {q(p['date_of_birth'])}")
        out.append(f"sex = {q(p['sex'])}")
        if p["date_of_death"]:
            out.append(f"died = {q(p['date_of_death'])}")
        regs = by["practice_registrations"].get(pid, [])
        if len(regs) == 1 and regs[0]["end_date"] == "":
            if regs[0]["start_date"] != registered:
                out.append(f"registered = {q(regs[0]['start_date'])}")
            if regs[0]["practice_pseudo_id"] != "1":
                out.append(f"practice = {practice(regs[0]['practice_pseudo_id'])}")
        else:
            items = []
            for r in regs:
                item = f"{{ start = {q(r['start_date'])}"
                if r["end_date"]:
                    item += f", end = {q(r['end_date'])}"
                item += f", practice = {practice(r['practice_pseudo_id'])} }}"
                items.append(item)
            out.append("registrations = [" + ", ".join(items) + "]")
        meds = by["medications"].get(pid, [])
        if meds:
            out.append("medications = [" + ", ".join(
                f"[{q(r['date'])}, {q(r['dmd_code'])}]" for r in meds) + "]")
        evs = by["clinical_events"].get(pid, [])
        if evs:
            items = []
            for r in evs:
                item = [q(r["date"]), q(r["snomedct_code"])]
                if r["numeric_value"] or r["comparator"]:
                    item.append(num_or_str(r["numeric_value"]))
                if r["comparator"]:
                    item.append(q(r["comparator"]))
                items.append("[" + ", ".join(item) + "]")
            out.append("clinical_events = [" + ", ".join(items) + "]")
        if es:
            parts = []
            for e in es:
                parts.append(f"{e['measure']} = {q(OUTCOME[(e['denominator'], e['numerator'])])}")
                written += 1
            out.append("expect = { " + ", ".join(parts) + " }")
        if pid in practice_exp:
            out.append(f"expect_practice = {practice(practice_exp[pid]['practice_pseudo_id'])}")
        out.append("")
    assert written == len(expected), folder
    os.makedirs(DST, exist_ok=True)
    with open(os.path.join(DST, folder + ".toml"), "w") as f:
        f.write("\n".join(out))
    print(f"{folder}: {len(expected)} expectations read, {written} written; "
          f"{len(practice_exp)} practice expectations")
    return len(expected), written, len(practice_exp)


def main():
    folders = sorted(d for d in os.listdir(SRC) if os.path.isdir(os.path.join(SRC, d)))
    totals = [convert(f) for f in folders]
    read, written, practices = (sum(t[i] for t in totals) for i in range(3))
    print(f"total: {read} expectations read, {written} written; {practices} practice expectations")
    sys.exit(0 if read == written else 1)


if __name__ == "__main__":
    main()
