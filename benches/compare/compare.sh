#!/usr/bin/env bash
# One command for the side-by-side benchmark: make sure the venv and GNU time are there
# (setup.sh, idempotent), then run compare.py with the arguments given. Example:
#   benches/compare/compare.sh --data /tmp/pincer_tiny/parquet --index-date 2020-03-01 --index-date 2021-01-01
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log="$(mktemp)"
if ! "$HERE/setup.sh" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "compare.sh: setup.sh failed" >&2
    exit 2
fi
rm -f "$log"
exec "$HERE/.venv/bin/python" "$HERE/compare.py" "$@"
