#!/usr/bin/env bash
# Soak test: gunicorn natively with the mock backend, driven by locust at a steady rate for a
# long time; passes when no request failed and no worker's RSS grew by more than
# SOAK_MAX_GROWTH_PCT between the end of the warm-up and the end of the run.
# Not part of `make test`: it takes SOAK_DURATION (10 minutes by default).
#
#   SOAK_DURATION        run time, locust syntax: 10m, 2m, 90s (10m)
#   SOAK_WARMUP          seconds before the first RSS reading (60)
#   SOAK_USERS           locust users (20); each waits 0.5-1.5 s between requests
#   SOAK_WORKERS         gunicorn workers (2)
#   SOAK_PORT            port on 127.0.0.1 (8091)
#   SOAK_MAX_GROWTH_PCT  largest RSS growth per worker for a pass, percent (10)
#   MOCK_TTFT_MS, MOCK_TOKEN_MS, MOCK_MAX_TOKENS   the mock model's speed (20, 5, 64)
#   LOCUST               locust executable (default: .venv-loadtest/bin/locust, installed
#                        from loadtest/requirements.txt on first use)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

duration="${SOAK_DURATION:-10m}"
warmup="${SOAK_WARMUP:-60}"
users="${SOAK_USERS:-20}"
workers="${SOAK_WORKERS:-2}"
port="${SOAK_PORT:-8091}"
max_growth="${SOAK_MAX_GROWTH_PCT:-10}"
python=.venv/bin/python
results=loadtest/results

to_seconds() {  # locust-style duration (1h2m3s, 10m, 90s, 90) -> seconds
    local rest="$1" total=0 n unit
    if [[ "$rest" =~ ^[0-9]+$ ]]; then echo "$rest"; return; fi
    while [[ "$rest" =~ ^([0-9]+)([hms])(.*)$ ]]; do
        n="${BASH_REMATCH[1]}" unit="${BASH_REMATCH[2]}" rest="${BASH_REMATCH[3]}"
        case "$unit" in h) total=$((total + n * 3600)) ;; m) total=$((total + n * 60)) ;; s) total=$((total + n)) ;; esac
    done
    if [[ -n "$rest" ]]; then echo "soak: cannot read the duration '$1'" >&2; exit 2; fi
    echo "$total"
}
run_seconds="$(to_seconds "$duration")"
if ((warmup >= run_seconds)); then
    echo "soak: SOAK_WARMUP=${warmup}s must be shorter than SOAK_DURATION=$duration" >&2
    exit 2
fi

locust_bin="${LOCUST:-.venv-loadtest/bin/locust}"
if [[ -z "${LOCUST:-}" && ! -x "$locust_bin" ]]; then
    echo "soak: installing locust into .venv-loadtest (loadtest/requirements.txt)"
    python3 -m venv .venv-loadtest
    .venv-loadtest/bin/pip install --quiet -r loadtest/requirements.txt
fi

workdir="$(mktemp -d -t llm-gateway-soak.XXXXXX)"
server_log="$workdir/server.log"
locust_log="$workdir/locust.log"
master=""
cleanup() {
    if [[ -n "$master" ]] && kill -0 "$master" 2>/dev/null; then
        kill -TERM "$master" 2>/dev/null || true
        wait "$master" 2>/dev/null || true
    fi
    rm -rf "$workdir/metrics"
}
trap cleanup EXIT

echo "soak: gunicorn ($workers workers, mock backend: ttft ${MOCK_TTFT_MS:-20} ms," \
    "${MOCK_TOKEN_MS:-5} ms/token) on 127.0.0.1:$port; logs in $workdir"
ENV_FILE=/dev/null HOST=127.0.0.1 PORT="$port" WORKERS="$workers" \
    MODEL_BACKEND=mock MOCK_TTFT_MS="${MOCK_TTFT_MS:-20}" MOCK_TOKEN_MS="${MOCK_TOKEN_MS:-5}" \
    MOCK_MAX_TOKENS="${MOCK_MAX_TOKENS:-64}" LOG_FORMAT=json LOG_LEVEL=warning \
    PROMETHEUS_MULTIPROC_DIR="$workdir/metrics" \
    .venv/bin/gunicorn -c api/gunicorn.conf.py >"$server_log" 2>&1 &
master=$!

ready=""
for _ in $(seq 1 300); do
    if ! kill -0 "$master" 2>/dev/null; then break; fi
    if "$python" -c "import sys, httpx; sys.exit(httpx.get('http://127.0.0.1:$port/ready', timeout=2).status_code != 200)" 2>/dev/null; then
        ready=1
        break
    fi
    sleep 0.2
done
if [[ -z "$ready" ]]; then
    echo "soak: the server did not become ready:" >&2
    tail -20 "$server_log" >&2
    exit 1
fi

worker_pids() { pgrep -P "$master" | sort -n | tr '\n' ' '; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

echo "soak: locust, $users users for $duration (warm-up ${warmup}s); report in $results/"
LOCUST="$locust_bin" LOADTEST_HOST="http://127.0.0.1:$port" USERS="$users" \
    SPAWN_RATE="$users" DURATION="$duration" LOADTEST_MAX_FAILURE_RATIO=0 \
    loadtest/run.sh >"$locust_log" 2>&1 &
locust_pid=$!

sleep "$warmup"
pids_warm="$(worker_pids)"
declare -A rss_warm
for pid in $pids_warm; do rss_warm[$pid]="$(rss_kb "$pid")"; done
echo "soak: after warm-up: worker RSS $(for pid in $pids_warm; do printf '%s=%s kB ' "$pid" "${rss_warm[$pid]}"; done)"

locust_status=0
wait "$locust_pid" || locust_status=$?
pids_end="$(worker_pids)"
declare -A rss_end
for pid in $pids_end; do rss_end[$pid]="$(rss_kb "$pid")"; done

# Requests and failures from locust's CSV, without its TTFT/TPOT pseudo-entries.
read -r total failures < <(awk -F, 'NR > 1 { gsub(/"/, "") }
    NR > 1 && $1 != "TTFT" && $1 != "TPOT" && $2 != "Aggregated" { total += $3; failed += $4 }
    END { print total + 0, failed + 0 }' "$results/stats_stats.csv" 2>/dev/null || echo "0 0")

verdict=PASS
reasons=()
echo
echo "soak summary ($duration, $users users, $workers workers)"
printf '  %-26s %s\n' "requests" "$total" "failures" "$failures" \
    "locust exit status" "$locust_status"
grep -E '^loadtest (PASS|FAIL)' "$locust_log" | sed 's/^/  /' || true
if [[ "$total" -eq 0 ]]; then verdict=FAIL; reasons+=("no requests were made"); fi
if [[ "$failures" -ne 0 ]]; then verdict=FAIL; reasons+=("$failures failed requests"); fi
if [[ "$locust_status" -ne 0 ]]; then verdict=FAIL; reasons+=("locust exited with $locust_status"); fi
if [[ "$pids_warm" != "$pids_end" ]]; then
    verdict=FAIL
    reasons+=("workers changed during the run ($pids_warm-> $pids_end)")
fi
for pid in $pids_warm; do
    warm="${rss_warm[$pid]}"
    end="${rss_end[$pid]:-}"
    if [[ -z "$end" ]]; then continue; fi
    ratio="$(awk -v e="$end" -v w="$warm" 'BEGIN { printf "%.3f", e / w }')"
    printf '  worker %-19s warm-up %s kB, end %s kB, end/warm-up %s\n' "$pid" "$warm" "$end" "$ratio"
    if awk -v r="$ratio" -v m="$max_growth" 'BEGIN { exit !(r > 1 + m / 100) }'; then
        verdict=FAIL
        reasons+=("worker $pid grew by more than ${max_growth}%")
    fi
done
echo "soak $verdict${reasons:+: ${reasons[*]}}"
echo "  (server log: $server_log, locust output: $locust_log)"
[[ "$verdict" == PASS ]]
