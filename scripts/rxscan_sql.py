"""Run a script written by `rxscan sql` on DuckDB or Spark, and read its three result views.

Shared by `spark_run.py` (the Spark runner for users) and `sql_compare.py` (the test harness
that compares the engines with `rxscan scan`). Tables are created with the column types of
docs/DATA-CONTRACT.md from an extract folder holding `NAME.csv` or `NAME.parquet` files.
"""

import os

TABLES = ["patients", "practice_registrations", "medications", "clinical_events"]

# Column -> SQL type (the DATA-CONTRACT types). `comparator` is optional in clinical_events.
COLUMNS = {
    "patients": [("patient_id", "BIGINT"), ("date_of_birth", "DATE"), ("sex", "STRING"),
                 ("date_of_death", "DATE")],
    "practice_registrations": [("patient_id", "BIGINT"), ("start_date", "DATE"),
                               ("end_date", "DATE"), ("practice_pseudo_id", "STRING"),
                               ("registration_id", "BIGINT")],
    "medications": [("patient_id", "BIGINT"), ("date", "DATE"), ("dmd_code", "STRING")],
    "clinical_events": [("patient_id", "BIGINT"), ("date", "DATE"), ("snomedct_code", "STRING"),
                        ("numeric_value", "DOUBLE"), ("comparator", "STRING")],
}

RESULTS = ["rxscan_summary", "rxscan_patients", "rxscan_composites"]
FILES = ["summary.csv", "patients.csv", "composites.csv"]


def statements(script):
    """The statements of a script: each ends with `;` at the end of a line."""
    out, cur = [], []
    for line in script.splitlines():
        cur.append(line)
        if line.rstrip().endswith(";"):
            text = "\n".join(cur).strip().rstrip(";").strip()
            cur = []
            # Drop statements that are only comments.
            if any(l.strip() and not l.strip().startswith("--") for l in text.splitlines()):
                out.append(text)
    rest = "\n".join(cur).strip()
    if any(l.strip() and not l.strip().startswith("--") for l in rest.splitlines()):
        raise ValueError("the script does not end with a statement ending in ';'")
    return out


def table_file(folder, name):
    for ext in ("parquet", "csv"):
        path = os.path.join(folder, f"{name}.{ext}")
        if os.path.exists(path):
            return path, ext
    raise FileNotFoundError(f"{folder}: no {name}.csv or {name}.parquet")


def cell(v):
    """A result value as rxscan writes it in its CSV files."""
    import datetime
    import decimal
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (datetime.date, datetime.datetime)):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, decimal.Decimal):
        return f"{v:.2f}"
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


# --- DuckDB ------------------------------------------------------------------------------------

def duckdb_load(con, folder, prefix=""):
    """Views `patients`, ... over the files of an extract folder, with the contract's types."""
    for name in TABLES:
        path, ext = table_file(folder, name)
        path_sql = path.replace("'", "''")
        if ext == "csv":
            src = f"read_csv('{path_sql}', header = true, all_varchar = true, parallel = false)"
        else:
            src = f"read_parquet('{path_sql}', file_row_number = true)"
        present = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()]
        if name == "practice_registrations" and "registration_id" not in present:
            # The file's row order as the last tie-break, as `rxscan scan` reads it.
            row = "file_row_number" if ext == "parquet" else "row_number() OVER ()"
            src = f"(SELECT *, {row} AS registration_id FROM {src})"
            present.append("registration_id")
        cols = []
        for col, ty in COLUMNS[name]:
            ty = "VARCHAR" if ty == "STRING" else ty
            if col in present:
                expr = f'"{col}"'
                if ty in ("DATE", "BIGINT", "DOUBLE"):
                    expr = f"CAST(NULLIF(trim(CAST({expr} AS VARCHAR)), '') AS {ty})"
                else:
                    expr = f"CAST({expr} AS {ty})"
            else:
                expr = f"CAST(NULL AS {ty})"
            cols.append(f"{expr} AS {col}")
        con.execute(f"CREATE OR REPLACE VIEW {prefix}{name} AS SELECT {', '.join(cols)} FROM {src}")


def duckdb_run(con, script):
    for s in statements(script):
        con.execute(s)
    out = {}
    for view in RESULTS:
        cur = con.execute(f"SELECT * FROM {view}")
        header = [d[0] for d in cur.description]
        out[view] = (header, [tuple(cell(v) for v in row) for row in cur.fetchall()])
    return out


# --- Spark -------------------------------------------------------------------------------------

def spark_session(app="rxscan", master=None):
    from pyspark.sql import SparkSession
    b = SparkSession.builder.appName(app)
    if master:
        b = b.master(master)
    b = (b.config("spark.sql.shuffle.partitions", os.environ.get("RXSCAN_SPARK_PARTITIONS", "4"))
          .config("spark.driver.memory", os.environ.get("RXSCAN_SPARK_MEMORY", "2g"))
          .config("spark.ui.enabled", "false")
          .config("spark.ui.showConsoleProgress", "false")
          .config("spark.sql.session.timeZone", "UTC"))
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def spark_load(spark, paths):
    """Temporary views `patients`, ... from {table: path} (Parquet or CSV files), with the
    contract's types."""
    from pyspark.sql import functions as F
    for name in TABLES:
        path = paths[name]
        if path.endswith(".csv"):
            df = spark.read.option("header", True).csv(path)  # every column a string
        else:
            df = spark.read.parquet(path)
        if name == "practice_registrations" and "registration_id" not in df.columns:
            # The file's row order as the last tie-break (increasing in file order within one
            # file), as `rxscan scan` reads it.
            df = df.withColumn("registration_id", F.monotonically_increasing_id())
        cols = []
        for col, ty in COLUMNS[name]:
            if col in df.columns:
                c = F.col(f"`{col}`")
                if ty in ("DATE", "BIGINT", "DOUBLE"):
                    c = F.trim(c.cast("string"))
                    c = F.when(c == "", None).otherwise(c).cast(ty.lower())
                else:
                    c = c.cast("string")
            else:
                c = F.lit(None).cast(ty.lower())
            cols.append(c.alias(col))
        df.select(*cols).createOrReplaceTempView(name)


def spark_run(spark, script):
    for s in statements(script):
        spark.sql(s)
    out = {}
    for view in RESULTS:
        df = spark.table(view)
        out[view] = (df.columns, [tuple(cell(v) for v in row) for row in df.collect()])
    return out
