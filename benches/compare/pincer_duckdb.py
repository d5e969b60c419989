#!/usr/bin/env python3
"""The 14 PINCER measures with DuckDB: the peer an analyst would write in SQL.

Python only does the plumbing: it exposes the four extract tables as typed views over the
Parquet or CSV files (no import step), loads the 24 codelists into one table, and runs the
statements of pincer.sql, where every rule lives.

    python pincer_duckdb.py --data DIR --codelists DIR --index-date 2020-03-01 \
        [--index-date ...] [--format parquet|csv] --out summary.csv \
        [--composites composites.csv] [--patients patients.csv] [--threads N]
"""

from __future__ import annotations

import os
import re
import sys

import duckdb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import CODE_COLUMN, CODELISTS, TABLES, codelist_path, parse_args, table_path  # noqa: E402

SQL_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pincer.sql")


# Unicode White_Space, the set Rust's str::trim and polars' strip_chars() remove. DuckDB's
# one-argument trim() removes spaces only, so codes padded with a tab would not match.
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) \
    + "\u2028\u2029\u202f\u205f\u3000"


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --- typed views over the raw files ------------------------------------------------------------
# Parquet columns may be DATE/TIMESTAMP or ISO strings, integers or strings; CSV is read as text.
# The expressions below turn whatever is there into DATE, BIGINT, DOUBLE and trimmed VARCHAR.

def as_date(col: str, typ: str) -> str:
    if typ == "DATE":
        return col
    if typ.startswith("TIMESTAMP"):
        return f"CAST({col} AS DATE)"
    # ISO text; any time of day after the date is dropped (§1); empty means missing
    return f"CAST(NULLIF(left(strip(CAST({col} AS VARCHAR)), 10), '') AS DATE)"


def as_text(col: str, typ: str) -> str:
    return f"NULLIF(strip(CAST({col} AS VARCHAR)), '')"


def as_bigint(col: str, typ: str) -> str:
    if typ == "VARCHAR":
        return f"CAST(strip({col}) AS BIGINT)"
    return f"CAST({col} AS BIGINT)"


def as_double(col: str, typ: str) -> str:
    if typ == "VARCHAR":
        return f"CAST(NULLIF(strip({col}), '') AS DOUBLE)"
    return f"CAST({col} AS DOUBLE)"


def sex_mf(col: str, typ: str) -> str:
    # DATA-CONTRACT: male/female/intersex/unknown or M/F/I/U, any case; only M and F are kept (§2.7)
    return (f"CASE lower(strip({col})) WHEN 'm' THEN 'M' WHEN 'male' THEN 'M' "
            f"WHEN 'f' THEN 'F' WHEN 'female' THEN 'F' END")


SCHEMA = {
    "patients": [("patient_id", as_bigint), ("date_of_birth", as_date), ("sex", sex_mf),
                 ("date_of_death", as_date)],
    "practice_registrations": [("patient_id", as_bigint), ("start_date", as_date),
                               ("end_date", as_date), ("practice_pseudo_id", as_text)],
    "medications": [("patient_id", as_bigint), ("date", as_date), ("dmd_code", as_text)],
    "clinical_events": [("patient_id", as_bigint), ("date", as_date), ("snomedct_code", as_text),
                        ("numeric_value", as_double), ("comparator", as_text)],
}
OPTIONAL = {("clinical_events", "comparator"), ("clinical_events", "numeric_value")}
ORDERED = {"practice_registrations", "clinical_events"}  # tables that get a file-order row_no


def create_views(con: duckdb.DuckDBPyConnection, data: str, fmt: str) -> None:
    for table in TABLES:
        path = quote(table_path(data, table, fmt))
        if fmt == "parquet":
            src = f"read_parquet({path})"
        else:
            src = f"read_csv({path}, header = true, delim = ',', quote = '\"', all_varchar = true)"
        # File order breaks the ties the spec leaves to a record id (§2.5, §2.7): row_number()
        # OVER () straight on the scan is a streaming window that numbers rows in file order.
        row_no = ", row_number() OVER () AS row_no" if table in ORDERED else ""
        con.execute(f"CREATE VIEW raw_{table} AS SELECT *{row_no} FROM {src}")
        types = {name: typ for name, typ, *_ in con.execute(f"DESCRIBE raw_{table}").fetchall()}
        cols = []
        for name, conv in SCHEMA[table]:
            if name in types:
                expr = conv(f'"{name}"', types[name])
            elif (table, name) in OPTIONAL:
                expr = "NULL"
            else:
                sys.exit(f"error: {table}.{fmt} has no column {name}")
            if (table, name) == ("clinical_events", "comparator"):
                expr = f"coalesce({expr}, '')"  # a missing comparator is the empty string (§4 k)
            cols.append(f"{expr} AS {name}")
        if table in ORDERED:
            cols.append("row_no")
        con.execute(f"CREATE VIEW {table} AS SELECT {', '.join(cols)} FROM raw_{table}")


def load_codelists(con: duckdb.DuckDBPyConnection, folder: str) -> None:
    parts = []
    for name, kind in CODELISTS.items():
        path = quote(codelist_path(folder, name))
        col = CODE_COLUMN[kind]
        parts.append(f"SELECT '{name}' AS list, '{kind}' AS kind, strip({col}) AS code "
                     f"FROM read_csv({path}, header = true, all_varchar = true)")
    con.execute("CREATE TEMP TABLE codelist AS SELECT DISTINCT * FROM (\n"
                + "\nUNION ALL\n".join(parts) + "\n)")


def sql_statements() -> dict[str, str]:
    text = open(SQL_FILE, encoding="utf-8").read()
    parts = re.split(r"^-- name: (\w+)\s*$", text, flags=re.M)
    return {parts[i]: parts[i + 1].strip().rstrip(";") for i in range(1, len(parts), 2)}


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    # strip(s): trim Unicode whitespace. The full trim is slow (about 1 s per million values
    # here), so values that start and end with printable ASCII skip it; that is nearly all.
    con.execute("CREATE MACRO strip(s) AS CASE WHEN s[1] BETWEEN '!' AND '~' AND s[-1] BETWEEN '!' AND '~' "
                f"THEN s ELSE trim(s, {quote(WHITESPACE)}) END")
    if args.threads:
        con.execute(f"SET threads = {int(args.threads)}")
    create_views(con, args.data, args.format)
    load_codelists(con, args.codelists)
    con.execute("CREATE TEMP TABLE index_dates AS SELECT CAST(unnest(?) AS DATE) AS index_date",
                [[d.isoformat() for d in args.index_date]])

    sql = sql_statements()
    con.execute(sql["patient_measures"])
    con.execute(sql["practice_order"])
    outputs = [("summary", args.out), ("composites", args.composites), ("patients", args.patients)]
    for name, path in outputs:
        if path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            con.execute(f"COPY ({sql[name]}) TO {quote(path)} (HEADER, DELIMITER ',')")


if __name__ == "__main__":
    main()
