#!/usr/bin/env python3
"""Writes the two example export layouts from their ehrQL-shaped twin, testdata/e2e.

Run from the repository root: python3 testdata/mappings/convert.py
The layouts are illustrative (see docs/mappings/*.toml); the test that matters is that each
scans to testdata/e2e/expected (crates/rxscan-cli/tests/mappings.rs).
"""
import csv
import datetime as dt
import os

SRC = "testdata/e2e"


def rows(table):
    with open(os.path.join(SRC, table + ".csv"), newline="") as f:
        return list(csv.DictReader(f))


def iso(s):
    return dt.date.fromisoformat(s) if s else None


def write(path, header, out):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(header)
        w.writerows(out)


# EMIS-Web-like: day-first dates, medication issue dates as 14-Aug-2021, sex spelt out,
# columns in another order with some the scan does not read.
def emis():
    d = "testdata/mappings/emis-like"
    uk = lambda s: iso(s).strftime("%d/%m/%Y") if s else ""
    sex = {"M": "Male", "F": "Female", "male": "Male", "female": "Female", "unknown": "Unknown"}
    write(f"{d}/Patient Details.csv",
          ["Patient Reference", "Gender", "Date of Birth", "Date of Death", "Usual GP"],
          [[p["patient_id"], sex[p["sex"]], uk(p["date_of_birth"]), uk(p["date_of_death"]), "Dr A"]
           for p in rows("patients")])
    write(f"{d}/Registrations.csv",
          ["Practice Code", "Patient Reference", "Registration Date", "Deregistration Date"],
          [[r["practice_pseudo_id"], r["patient_id"], uk(r["start_date"]), uk(r["end_date"])]
           for r in rows("practice_registrations")])
    write(f"{d}/Medication Issues.csv",
          ["Patient Reference", "Issue Date", "Drug Name", "dm+d Code", "Quantity"],
          [[m["patient_id"], iso(m["date"]).strftime("%d-%b-%Y"), "see dm+d", m["dmd_code"], "28"]
           for m in rows("medications")])
    # Clinical codes with a time of day on every other row.
    write(f"{d}/Clinical Codes.csv",
          ["Patient Reference", "Effective Date", "SNOMED CT Code", "Term", "Operator", "Value", "Units"],
          [[e["patient_id"], uk(e["date"]) + (" 09:30" if i % 2 else ""), e["snomedct_code"], "",
            e["comparator"], e["numeric_value"], ""]
           for i, e in enumerate(rows("clinical_events"))])


# SystmOne-like: ISO date-times, SR-style table and column names, sex as one letter.
def systmone():
    d = "testdata/mappings/systmone-like"
    ts = lambda s, t="00:00:00": f"{s}T{t}" if s else ""
    sex = {"M": "M", "F": "F", "male": "M", "female": "F", "unknown": "U"}
    write(f"{d}/SRPatient.csv",
          ["IDPatient", "DateBirth", "Gender", "DateDeath"],
          [[p["patient_id"], ts(p["date_of_birth"]), sex[p["sex"]], ts(p["date_of_death"])]
           for p in rows("patients")])
    write(f"{d}/SRPatientRegistration.csv",
          ["IDPatient", "IDOrganisation", "DateRegistration", "DateDeRegistration"],
          [[r["patient_id"], r["practice_pseudo_id"], ts(r["start_date"]), ts(r["end_date"])]
           for r in rows("practice_registrations")])
    write(f"{d}/SRPrimaryCareMedication.csv",
          ["IDPatient", "DateEvent", "DMDCode"],
          [[m["patient_id"], ts(m["date"], "10:15:00Z"), m["dmd_code"]] for m in rows("medications")])
    write(f"{d}/SRCode.csv",
          ["IDPatient", "DateEvent", "SNOMEDCode", "NumericValue", "NumericComparator"],
          [[e["patient_id"], ts(e["date"], "23:59:59"), e["snomedct_code"], e["numeric_value"], e["comparator"]]
           for e in rows("clinical_events")])


emis()
systmone()
