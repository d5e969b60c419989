#!/usr/bin/env python3
"""The 14 PINCER measures as one polars lazy query: the peer an analyst would write in polars.

The extract is scanned lazily (scan_parquet / scan_csv); each building block of INDICATORS.md §3
is one LazyFrame of (patient_id, index_date) keys; the blocks are left-joined onto the base
population and the denominators and numerators of §4 are boolean columns. The coded records are
collected once (see below), then one collect() runs the rest of the plan; only the small
per-practice result is handled in plain Python, to write the CSVs.

    python pincer_polars.py --data DIR --codelists DIR --index-date 2020-03-01 \
        [--index-date ...] [--format parquet|csv] --out summary.csv \
        [--composites composites.csv] [--patients patients.csv] [--threads N]
"""

from __future__ import annotations

import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (  # noqa: E402
    CODE_COLUMN, CODELISTS, COMPOSITES, MEASURES, codelist_path, minus_months,
    parse_args, practice_sort_key, table_path,
)

args = parse_args(__doc__.splitlines()[0])
if args.threads:  # must be set before polars is imported
    os.environ["POLARS_MAX_THREADS"] = str(args.threads)
import polars as pl  # noqa: E402

KEY = ["patient_id", "index_date"]


# --- typed frames over the raw files -------------------------------------------------------------
# Parquet columns may be Date/Datetime or ISO strings, integers or strings; CSV is read as text.

def as_date(name: str, dtype) -> pl.Expr:
    c = pl.col(name)
    if dtype == pl.Date:
        return c
    if isinstance(dtype, pl.Datetime):
        return c.dt.date()
    text = c.cast(pl.String).str.strip_chars().str.slice(0, 10)  # time of day dropped (§1)
    return pl.when(text == "").then(None).otherwise(text).str.to_date("%Y-%m-%d", strict=True)


def as_text(name: str, dtype) -> pl.Expr:
    text = pl.col(name).cast(pl.String).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def as_int(name: str, dtype) -> pl.Expr:
    if dtype == pl.String:
        return pl.col(name).str.strip_chars().cast(pl.Int64, strict=True)
    return pl.col(name).cast(pl.Int64, strict=True)


def as_float(name: str, dtype) -> pl.Expr:
    if dtype == pl.String:
        text = pl.col(name).str.strip_chars()
        return pl.when(text == "").then(None).otherwise(text).cast(pl.Float64, strict=True)
    return pl.col(name).cast(pl.Float64, strict=True)


def sex_mf(name: str, dtype) -> pl.Expr:
    # DATA-CONTRACT: male/female/intersex/unknown or M/F/I/U, any case; only M and F are kept (§2.7)
    return (pl.col(name).cast(pl.String).str.strip_chars().str.to_lowercase()
            .replace_strict({"m": "M", "male": "M", "f": "F", "female": "F"}, default=None,
                            return_dtype=pl.String))


SCHEMA = {
    "patients": [("patient_id", as_int), ("date_of_birth", as_date), ("sex", sex_mf),
                 ("date_of_death", as_date)],
    "practice_registrations": [("patient_id", as_int), ("start_date", as_date), ("end_date", as_date),
                               ("practice_pseudo_id", as_text)],
    "medications": [("patient_id", as_int), ("date", as_date), ("dmd_code", as_text)],
    "clinical_events": [("patient_id", as_int), ("date", as_date), ("snomedct_code", as_text),
                        ("numeric_value", as_float), ("comparator", as_text)],
}
OPTIONAL = {("clinical_events", "comparator"), ("clinical_events", "numeric_value")}
ORDERED = {"practice_registrations", "clinical_events"}  # tables that get a file-order row_no


def scan(table: str) -> pl.LazyFrame:
    path = table_path(args.data, table, args.format)
    if args.format == "parquet":
        raw = pl.scan_parquet(path)
    else:
        raw = pl.scan_csv(path, infer_schema=False)  # every column as text
    if table in ORDERED:  # file order breaks the ties the spec leaves to a record id (§2.5, §2.7)
        raw = raw.with_row_index("row_no")
    schema = raw.collect_schema()
    cols = []
    for name, conv in SCHEMA[table]:
        if name in schema:
            expr = conv(name, schema[name])
        elif (table, name) in OPTIONAL:
            expr = pl.lit(None, dtype=pl.Float64 if name == "numeric_value" else pl.String)
        else:
            sys.exit(f"error: {table}.{args.format} has no column {name}")
        if (table, name) == ("clinical_events", "comparator"):
            expr = expr.fill_null("")  # a missing comparator is the empty string (§4 k)
        cols.append(expr.alias(name))
    if table in ORDERED:
        cols.append(pl.col("row_no"))
    return raw.select(cols)


def load_codelists() -> pl.LazyFrame:
    frames = []
    for name, kind in CODELISTS.items():
        col = CODE_COLUMN[kind]
        frames.append(pl.scan_csv(codelist_path(args.codelists, name), infer_schema=False)
                      .select(pl.lit(name).alias("list"), pl.lit(kind).alias("kind"),
                              pl.col(col).str.strip_chars().alias("code")))
    return pl.concat(frames).unique()


patients = scan("patients")
registrations = scan("practice_registrations")
medications = scan("medications")
clinical_events = scan("clinical_events")
codelist = load_codelists()

# §2.3 windows: one row per index date, with the calendar-month boundaries (§2.2)
windows = pl.LazyFrame({
    "index_date": args.index_date,
    **{f"i_{n}m": [minus_months(d, n) for d in args.index_date] for n in (3, 6, 12, 15)},
}, schema_overrides={c: pl.Date for c in ["index_date", "i_3m", "i_6m", "i_12m", "i_15m"]})

# --- §2.7 base population ---------------------------------------------------------------------------
registered = (  # rule 1 (start <= I < end); attribution: latest start, latest end (ongoing
                # counts as latest), first row in the file (the extract has no registration id)
    registrations.join(windows.select("index_date"), how="cross")
    .filter((pl.col("start_date") <= pl.col("index_date"))
            & (pl.col("end_date").is_null() | (pl.col("end_date") > pl.col("index_date"))))
    .with_columns(end_or_max=pl.col("end_date").fill_null(pl.date(9999, 12, 31)))
    .sort(["patient_id", "index_date", "start_date", "end_or_max", "row_no"],
          descending=[False, False, True, True, False])
    .unique(subset=KEY, keep="first", maintain_order=True)
    .select(*KEY, "practice_pseudo_id")
)
I, dob = pl.col("index_date"), pl.col("date_of_birth")
base = (
    registered.join(patients, on="patient_id", how="inner")
    .with_columns(age=(I.dt.year() - dob.dt.year()
                       - ((I.dt.month().cast(pl.Int32) * 100 + I.dt.day())
                          < (dob.dt.month().cast(pl.Int32) * 100 + dob.dt.day())).cast(pl.Int32)))
    .filter((pl.col("date_of_death").is_null() | (pl.col("date_of_death") > I))
            & pl.col("age").is_between(18, 120)
            & pl.col("sex").is_in(["M", "F"]))
    .select(*KEY, "practice_pseudo_id", "age")
)

# --- records coded with a PINCER codelist (codelists joined as a table) -------------------------------
med = medications.join(codelist.filter(pl.col("kind") == "dmd"), left_on="dmd_code", right_on="code") \
    .select("patient_id", "date", "list")
ev = clinical_events.join(codelist.filter(pl.col("kind") == "snomed"), left_on="snomedct_code",
                          right_on="code") \
    .select("patient_id", "date", "list", "numeric_value", "comparator", "row_no")
# Every building block reads these two. Left lazy, each block pushes its own filter and
# projection into the scan, so the file is re-read once per block (.cache() does not survive
# that); collecting the coded records once, then going on lazily, reads each file once.
med, ev = (frame.lazy() for frame in pl.collect_all([med, ev]))


def in_window(records: pl.LazyFrame, lists, lo: str | None, hi: str) -> pl.LazyFrame:
    """Records of the given codelists dated in [lo, hi] (lo None: no lower bound), per index date."""
    lists = [lists] if isinstance(lists, str) else lists
    conds = [pl.col("date") <= pl.col(hi)]
    if lo is not None:
        conds.append(pl.col("date") >= pl.col(lo))
    return records.filter(pl.col("list").is_in(lists)).join_where(windows, *conds)


def has(records, lists, lo, hi) -> pl.LazyFrame:
    return in_window(records, lists, lo, hi).select(KEY).unique()


def ever_before(records, lists, hi) -> pl.LazyFrame:
    """Any record on or before `hi`, i.e. the patient's first record is on or before it (this
    joins one first date per patient to the index dates instead of the whole history)."""
    lists = [lists] if isinstance(lists, str) else lists
    first = (records.filter(pl.col("list").is_in(lists))
             .group_by("patient_id").agg(first_date=pl.col("date").min()))
    return first.join_where(windows, pl.col("first_date") <= pl.col(hi)).select(KEY)


def coprescribed(x: str, y: str) -> pl.LazyFrame:
    """§3.1: an X issue and a Y issue, both in W3 = [I-3m, I], at most 27 days apart."""
    xs = in_window(med, x, "i_3m", "index_date").select(*KEY, "date")
    ys = in_window(med, y, "i_3m", "index_date").select(*KEY, "date")
    return (xs.join(ys, on=KEY, suffix="_y")
            .filter((pl.col("date") - pl.col("date_y")).dt.total_days().abs() <= 27)
            .select(KEY).unique())


asthma_latest = (in_window(ev, "ast", None, "i_3m")             # ASTHMA_DATE: latest <= I-3m
                 .group_by(KEY).agg(asthma_date=pl.col("date").max()))
resolved_latest = (in_window(ev, "ast_res", None, "index_date")  # RESOLVED_DATE: latest <= I
                   .group_by(KEY).agg(resolved_date=pl.col("date").max()))
asthma_unresolved = (  # §4 g: no resolved code, or one strictly before the latest asthma code
    asthma_latest.join(resolved_latest, on=KEY, how="left")
    .filter(pl.col("resolved_date").is_null() | (pl.col("resolved_date") < pl.col("asthma_date")))
    .select(KEY)
)
egfr_latest = (  # EGFR: latest record <= I-3m, missing value = 0; same-day ties (DATA-CONTRACT):
    # the smallest value (a missing one last), then the smallest comparator as text
    in_window(ev, "egfr", None, "i_3m")
    .with_columns(value=pl.col("numeric_value").fill_null(0.0),
                  missing=pl.col("numeric_value").is_null())
    .sort([*KEY, "date", "missing", "numeric_value", "comparator", "row_no"],
          descending=[False, False, True, False, False, False, False], nulls_last=True)
    .unique(subset=KEY, keep="first", maintain_order=True)
)
v, c = pl.col("value"), pl.col("comparator")
egfr_low = egfr_latest.filter(  # §4 k: 1 <= v < 45, comparator not > >= ~, and not "<1"
    (v >= 1) & (v < 45) & ~c.is_in([">", ">=", "~"]) & ~((v == 1) & (c == "<"))
).select(KEY)

BLOCKS = {  # §3 building blocks
    "nsaid_3m": has(med, "nsaid", "i_3m", "index_date"),
    "ppi_3m": has(med, "ppi", "i_3m", "index_date"),
    "oac_3m": has(med, "anticoag", "i_3m", "index_date"),
    "aspirin_3m": has(med, "aspirin", "i_3m", "index_date"),
    "nonasp_3m": has(med, "non_asp_antiplate", "i_3m", "index_date"),
    "nsbb_3m": has(med, "nsbb", "i_3m", "index_date"),
    "mtx_3m": has(med, "met", "i_3m", "index_date"),
    "mtx_6m_3m": has(med, "met", "i_6m", "i_3m"),
    "lith_3m": has(med, "lith", "i_3m", "index_date"),
    "lith_6m_3m": has(med, "lith", "i_6m", "i_3m"),
    "amio_12m_6m": has(med, "amio", "i_12m", "i_6m"),
    "amio_6m": has(med, "amio", "i_6m", "index_date"),
    "acei_old": ever_before(med, "acei", "i_15m"),
    "acei_recent": has(med, "acei", "i_6m", "index_date"),
    "loop_old": ever_before(med, "diur", "i_15m"),
    "loop_recent": has(med, "diur", "i_6m", "index_date"),
    "coprescribed_oac_antiplat": coprescribed("anticoag", "antiplat"),
    "coprescribed_aspirin_nonasp": coprescribed("aspirin", "non_asp_antiplate"),
    "pu_or_gib_hist": ever_before(ev, ["pep", "gi_bleed"], "i_3m"),
    "hf_hist": ever_before(ev, "hf", "i_3m"),
    "asthma_unresolved": asthma_unresolved,
    "egfr_low": egfr_low,
    "renal_15m": has(ev, "renal", "i_15m", "index_date"),
    "elec_15m": has(ev, "electro", "i_15m", "index_date"),
    "fbc_3m": has(ev, "fbc", "i_3m", "index_date"),
    "lft_3m": has(ev, "lft", "i_3m", "index_date"),
    "lith_level_3m": has(ev, "lith_lev", "i_3m", "index_date"),
    "tft_6m": has(ev, "tft", "i_6m", "index_date"),
}

# One row per base-population patient and index date, one boolean per building block: the blocks
# are stacked into one frame, pivoted with one group_by and joined onto the base once.
flags = base
for name, block in BLOCKS.items():
    flags = flags.join(block.with_columns(pl.lit(True).alias(name)), on=KEY, how="left")
flags = flags.with_columns(pl.col(list(BLOCKS)).fill_null(False))

# --- §4 denominators and numerators -----------------------------------------------------------------
f = pl.col
den = {
    "a": (f("age") >= 65) & ~f("ppi_3m"),
    "b": ~f("ppi_3m") & f("pu_or_gib_hist"),
    "c": ~f("ppi_3m") & f("pu_or_gib_hist"),
    "d": f("oac_3m"),
    "e": f("oac_3m") & ~f("ppi_3m"),
    "f": f("aspirin_3m") & ~f("ppi_3m"),
    "g": f("asthma_unresolved"),
    "i": f("hf_hist"),
    "k": f("egfr_low"),
    "ac": (f("age") >= 75) & ((f("acei_old") & f("acei_recent")) | (f("loop_old") & f("loop_recent"))),
    "me_no_fbc": f("mtx_6m_3m") & f("mtx_3m"),
    "me_no_lft": f("mtx_6m_3m") & f("mtx_3m"),
    "li": f("lith_6m_3m") & f("lith_3m"),
    "am": f("amio_12m_6m") & f("amio_6m"),
}
condition = {
    "a": f("nsaid_3m"),
    "b": f("nsaid_3m"),
    "c": f("aspirin_3m") | f("nonasp_3m"),
    "d": f("nsaid_3m"),
    "e": f("coprescribed_oac_antiplat"),
    "f": f("coprescribed_aspirin_nonasp"),
    "g": f("nsbb_3m"),
    "i": f("nsaid_3m"),
    "k": f("nsaid_3m"),
    "ac": ~f("renal_15m") | ~f("elec_15m"),
    "me_no_fbc": ~f("fbc_3m"),
    "me_no_lft": ~f("lft_3m"),
    "li": ~f("lith_level_3m"),
    "am": ~f("tft_6m"),
}
patient_measures = flags.select(
    *KEY, "practice_pseudo_id",
    *[den[m].alias(f"den_{m}") for m in MEASURES],
    *[(den[m] & condition[m]).alias(f"num_{m}") for m in MEASURES],
)

# §5 composites: a member's denominator or numerator, per patient
comp_cols = []
for comp, members in COMPOSITES.items():
    comp_cols.append(pl.any_horizontal([f(f"den_{m}") for m in members]).alias(f"cden_{comp}"))
    comp_cols.append(pl.sum_horizontal([f(f"num_{m}").cast(pl.Int32) for m in members]).alias(f"cn_{comp}"))
patient_measures = patient_measures.with_columns(comp_cols)

GROUP = ["index_date", "practice_pseudo_id"]
per_practice = patient_measures.group_by(GROUP).agg(
    *[f(f"den_{m}").sum().alias(f"den_{m}") for m in MEASURES],
    *[f(f"num_{m}").sum().alias(f"num_{m}") for m in MEASURES],
    *[f(f"cden_{c}").sum().alias(f"cden_{c}") for c in COMPOSITES],
    *[(f(f"cn_{c}") == n).sum().alias(f"cn_{c}_{n}")
      for c, members in COMPOSITES.items() for n in range(1, len(members) + 1)],
)

if args.patients:
    counts, patient_rows = pl.collect_all([per_practice, patient_measures])
else:
    counts, patient_rows = per_practice.collect(), None

# --- outputs --------------------------------------------------------------------------------------------
rows = counts.to_dicts()
key = practice_sort_key({r["practice_pseudo_id"] for r in rows})
rows.sort(key=lambda r: (r["index_date"], key(r["practice_pseudo_id"])))


def writer(path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fh = open(path, "w", newline="", encoding="utf-8")
    return fh, csv.writer(fh, lineterminator="\n")


fh, w = writer(args.out)
w.writerow(["index_date", "practice_pseudo_id", "measure", "numerator", "denominator", "rate"])
for r in rows:
    for m in MEASURES:
        n, d = r[f"num_{m}"], r[f"den_{m}"]
        w.writerow([r["index_date"].isoformat(), r["practice_pseudo_id"], m, n, d,
                    f"{100.0 * n / d:.2f}" if d else ""])
fh.close()

if args.composites:
    fh, w = writer(args.composites)
    w.writerow(["index_date", "practice_pseudo_id", "composite", "denominator", "n_numerators", "patients"])
    for r in rows:
        for comp, members in COMPOSITES.items():
            for n in range(1, len(members) + 1):
                w.writerow([r["index_date"].isoformat(), r["practice_pseudo_id"], comp,
                            r[f"cden_{comp}"], n, r[f"cn_{comp}_{n}"]])
    fh.close()

if args.patients:
    long = pl.concat([
        patient_rows.filter(f(f"den_{m}")).select(
            "index_date", "patient_id", "practice_pseudo_id", pl.lit(m).alias("measure"),
            pl.lit(i).alias("ord"), f(f"num_{m}").alias("numerator"))
        for i, m in enumerate(MEASURES)
    ]).sort(["index_date", "patient_id", "ord"]).drop("ord")
    os.makedirs(os.path.dirname(os.path.abspath(args.patients)), exist_ok=True)
    long.write_csv(args.patients)
