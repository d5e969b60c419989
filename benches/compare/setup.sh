#!/usr/bin/env bash
# Idempotent setup for the side-by-side benchmark:
#   - a local virtualenv in benches/compare/.venv with duckdb, polars and pyarrow from PyPI;
#   - GNU time at /usr/bin/time (apt-get, only when missing and when we are root).
# Re-running it is cheap: an existing venv is reused and pip skips satisfied requirements.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
"$VENV/bin/python" - <<'PY'
import duckdb, polars, pyarrow
print(f"setup: duckdb {duckdb.__version__}, polars {polars.__version__}, pyarrow {pyarrow.__version__}")
PY

if [ ! -x /usr/bin/time ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "setup: installing GNU time"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time
    else
        echo "setup: /usr/bin/time is missing; install the 'time' package (apt-get install time)" >&2
        exit 1
    fi
fi
/usr/bin/time --version 2>&1 | head -1
