#!/usr/bin/env bash
# Run the locust container against the running stack's proxy; exit with locust's exit code
# (read from the container: not every `docker compose run` passes it on).
set -euo pipefail
cd "$(dirname "$0")/.."
compose=(docker compose --profile loadtest)
name="${COMPOSE_PROJECT_NAME:-llm-gateway}-loadtest-$$"
mkdir -p loadtest/results
chmod 0777 loadtest/results  # the image runs as uid 1000
"${compose[@]}" build loadtest
trap 'docker rm -f "$name" >/dev/null 2>&1 || true' EXIT
"${compose[@]}" run --name "$name" loadtest || true
code=$(docker inspect "$name" --format '{{.State.ExitCode}}')
echo "loadtest container exited with $code; report: loadtest/results/report.html"
exit "$code"
