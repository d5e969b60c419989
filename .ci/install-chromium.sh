#!/usr/bin/env bash
# Installs Chromium from the Debian packages when it is missing (for the report's browser
# test, .ci/report-browser-test.sh). Idempotent: does nothing when /usr/bin/chromium exists.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
test -x /usr/bin/chromium || { echo "chromium did not install" >&2; exit 1; }
