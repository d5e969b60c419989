#!/usr/bin/env bash
# The report in a real browser: installs Chromium (Debian) and websocket-client (PyPI) when
# missing, proves the checker can fail (a broken page must fail), then scans the demo extract
# (a monthly series, and one date under --suppress) and a synthetic PCN of 20 practices (a
# series), and opens each report.html in headless Chromium: it must load, show one funnel plot
# per measure (and one monthly chart per measure for a series), fit a 1024-pixel window's
# width and, printed, an A4 page's, fetch nothing and log no error. Fails loudly (exit 1) otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/install-chromium.sh
python3 -c 'import websocket' 2>/dev/null ||
  python3 -m pip install --quiet --disable-pip-version-check websocket-client

python3 .ci/report_browser_check.py --self-test

measures=$(ls rules/pincer/measures/*.rx | wc -l)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cargo run -q -p rxscan-cli -- scan --data testdata/demo --from 2019-10-01 --to 2020-03-01 \
  --out "$out/series" --quiet
python3 .ci/report_browser_check.py "$out/series/report.html" --measures "$measures" --trends
cargo run -q -p rxscan-cli -- scan --data testdata/demo --index-date 2020-03-01 --suppress \
  --out "$out/suppressed" --quiet
python3 .ci/report_browser_check.py "$out/suppressed/report.html" --measures "$measures"
# A PCN of 20 practices: the table turned (practices as rows), the charts' many-practice forms.
cargo run -q -p rxscan-cli -- synth --patients 20000 --practices 20 --out "$out/pcn20" > /dev/null
cargo run -q -p rxscan-cli -- scan --data "$out/pcn20" --from 2019-10-01 --to 2020-03-01 \
  --out "$out/pcn20-out" --quiet
python3 .ci/report_browser_check.py "$out/pcn20-out/report.html" --measures "$measures" --trends
echo "report browser test passed"
