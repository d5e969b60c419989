#!/usr/bin/env bash
# Install the two SQL engines the SQL-lowering proof runs on (.ci/sql-engines.sh): DuckDB and
# PySpark from PyPI, and a Java 17 runtime for Spark from Debian. Idempotent: installs only
# what is missing, so a second run costs a few seconds.
set -euo pipefail

PY=${PYTHON:-python3}
DUCKDB_VERSION=${DUCKDB_VERSION:-1.1.3}
PYSPARK_VERSION=${PYSPARK_VERSION:-3.5.3}

have_py() { "$PY" -c "import $1" >/dev/null 2>&1; }

if ! have_py duckdb; then
    "$PY" -m pip install --quiet "duckdb==${DUCKDB_VERSION}"
fi
# The DuckDB command-line shell, for the README's `rxscan sql ... | duckdb` (PyPI ships it).
if ! command -v duckdb >/dev/null 2>&1; then
    "$PY" -m pip install --quiet "duckdb-cli==${DUCKDB_CLI_VERSION:-1.5.6}"
fi
if [ "${RXSCAN_NO_SPARK:-0}" != 1 ]; then
    if ! have_py pyspark; then
        "$PY" -m pip install --quiet "pyspark==${PYSPARK_VERSION}"
    fi
    if ! command -v java >/dev/null 2>&1; then
        SUDO=""
        if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openjdk-17-jre-headless
    fi
fi
"$PY" -c "import duckdb; print('duckdb', duckdb.__version__)"
duckdb --version
if [ "${RXSCAN_NO_SPARK:-0}" != 1 ]; then
    "$PY" -c "import pyspark; print('pyspark', pyspark.__version__)"
    java -version 2>&1 | head -1
fi
