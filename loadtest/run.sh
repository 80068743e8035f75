#!/usr/bin/env bash
# Headless locust run against LOADTEST_HOST; CSV + HTML report in results/ next to this script.
# Exits with locust's exit code: 0 when the thresholds in locustfile.py pass, 1 when not
# (2 when a setup problem stops it before locust starts).
#
#   LOADTEST_HOST  target base URL, e.g. http://127.0.0.1:8001 (required)
#   USERS          concurrent users (10)
#   SPAWN_RATE     users started per second (5)
#   DURATION       run time, locust syntax: 30s, 2m (30s)
#   STOP_TIMEOUT   seconds in-flight requests get to finish at the end (10)
#   LOCUST         locust executable (locust, i.e. from PATH)
# The LOADTEST_* settings of locustfile.py pass through the environment.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
results="$here/results"
locust_bin="${LOCUST:-locust}"

if [[ -z "${LOADTEST_HOST:-}" ]]; then
    echo "run.sh: set LOADTEST_HOST, e.g. LOADTEST_HOST=http://127.0.0.1:8001" >&2
    exit 2
fi
if ! command -v "$locust_bin" >/dev/null 2>&1; then
    echo "run.sh: locust not found ('$locust_bin'); install it or set LOCUST=/path/to/locust" >&2
    exit 2
fi
mkdir -p "$results" 2>/dev/null || true
probe="$results/.write-test.$$"
if ! (: >"$probe") 2>/dev/null; then
    echo "run.sh: $results is not writable by uid $(id -u); fix the mount's owner or mode" >&2
    exit 2
fi
rm -f "$probe"
# A report left by an earlier run must not pass for this run's.
rm -f "$results/report.html" "$results"/stats_*.csv

echo "run.sh: ${USERS:-10} users (spawn ${SPAWN_RATE:-5}/s) for ${DURATION:-30s} against $LOADTEST_HOST"
echo "run.sh: report: $results/report.html, CSV: $results/stats_*.csv"
# exec: locust gets the signals (docker stop, Ctrl-C) and still writes its report, and its
# exit code is this script's.
exec "$locust_bin" \
    --locustfile "$here/locustfile.py" \
    --headless \
    --host "$LOADTEST_HOST" \
    --users "${USERS:-10}" \
    --spawn-rate "${SPAWN_RATE:-5}" \
    --run-time "${DURATION:-30s}" \
    --stop-timeout "${STOP_TIMEOUT:-10}" \
    --only-summary \
    --csv "$results/stats" \
    --html "$results/report.html"
