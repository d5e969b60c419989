"""Plumbing shared by the two peer engines (pincer_duckdb.py, pincer_polars.py).

Only the command line, the codelist catalogue and index-date validation live here. Every rule of
INDICATORS.md is written out separately in each engine, so that the two engines check each other.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

# The 24 codelists: list name -> kind. The file is codelists/pincer-<name>.csv; medication (dm+d)
# lists carry their codes in column `id`, clinical (SNOMED CT) lists in column `code`.
CODELISTS: dict[str, str] = {
    "nsaid": "dmd",
    "ppi": "dmd",
    "pep": "snomed",
    "gi_bleed": "snomed",
    "anticoag": "dmd",
    "antiplat": "dmd",
    "aspirin": "dmd",
    "non_asp_antiplate": "dmd",
    "ast": "snomed",
    "ast_res": "snomed",
    "nsbb": "dmd",
    "hf": "snomed",
    "egfr": "snomed",
    "acei": "dmd",
    "diur": "dmd",
    "renal": "snomed",
    "electro": "snomed",
    "met": "dmd",
    "fbc": "snomed",
    "lft": "snomed",
    "lith": "dmd",
    "lith_lev": "snomed",
    "amio": "dmd",
    "tft": "snomed",
}
CODE_COLUMN = {"dmd": "id", "snomed": "code"}

TABLES = ("patients", "practice_registrations", "medications", "clinical_events")

# Measure ids in pack order (DATA-CONTRACT summary.csv).
MEASURES = ("a", "b", "c", "d", "e", "f", "g", "i", "k", "ac", "me_no_fbc", "me_no_lft", "li", "am")

# Composites (INDICATORS.md §5), in output order: name -> member measures.
COMPOSITES = {
    "gi_bleed": ("a", "b", "c", "d", "e", "f"),
    "other_prescribing": ("g", "i", "k"),
    "monitoring": ("ac", "me_no_fbc", "me_no_lft", "li", "am"),
    "all": MEASURES,
}

# Month offsets used by the windows (§2.3).
MONTH_OFFSETS = (1, 2, 3, 6, 12, 15)


def codelist_path(folder: str, name: str) -> str:
    path = os.path.join(folder, f"pincer-{name}.csv")
    if not os.path.exists(path):
        sys.exit(f"error: codelist {path} not found")
    return path


def minus_months(day: dt.date, months: int) -> dt.date:
    """I - n months (§2.2): keep the day number; a day missing in the target month is an error
    (cohort-extractor raises; it never happens for first-of-month index dates)."""
    total = day.year * 12 + (day.month - 1) - months
    year, month = divmod(total, 12)
    try:
        return dt.date(year, month + 1, day.day)
    except ValueError:
        raise SystemExit(
            f"error: index date {day} minus {months} months does not exist "
            "(cohort-extractor raises here; use first-of-month index dates)"
        ) from None


def parse_index_date(text: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from None
    for n in MONTH_OFFSETS:
        minus_months(day, n)
    return day


def resolve_format(data: str, wanted: str | None) -> str:
    """parquet or csv: as asked, else parquet when every table has a .parquet file, else csv."""
    fmts = [wanted] if wanted else ["parquet", "csv"]
    for fmt in fmts:
        if all(os.path.exists(os.path.join(data, f"{t}.{fmt}")) for t in TABLES):
            return fmt
    missing = [f"{t}.{fmts[0]}" for t in TABLES if not os.path.exists(os.path.join(data, f"{t}.{fmts[0]}"))]
    sys.exit(f"error: {data} lacks {', '.join(missing)}")


def table_path(data: str, table: str, fmt: str) -> str:
    return os.path.join(data, f"{table}.{fmt}")


def parse_args(description: str) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data", required=True, help="extract folder (NAME.parquet or NAME.csv per table)")
    p.add_argument("--codelists", required=True, help="folder with the 24 pincer-*.csv codelists")
    p.add_argument("--index-date", action="append", required=True, type=parse_index_date,
                   help="index date YYYY-MM-DD (repeatable)")
    p.add_argument("--format", choices=["parquet", "csv"], help="input format (default: detect)")
    p.add_argument("--out", required=True, help="summary.csv to write")
    p.add_argument("--composites", help="also write composites.csv here")
    p.add_argument("--patients", help="also write patients.csv here (patient-level results)")
    p.add_argument("--threads", type=int, help="worker threads (default: the engine's own default)")
    args = p.parse_args()
    args.index_date = sorted(set(args.index_date))
    args.format = resolve_format(args.data, args.format)
    return args


def practice_sort_key(all_ids):
    """DATA-CONTRACT: practices sort numerically when every id is digits, otherwise as text."""
    if all(i.isascii() and i.isdigit() for i in all_ids):
        return lambda i: (int(i), i)
    return lambda i: i
