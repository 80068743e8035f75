#!/usr/bin/env bash
# `make up`: build, check the configuration inside the api image with exactly the settings the
# api will get (the shell first, then .env), start the stack, wait until it is healthy, and say
# where it answers and whether clients need a key. Fails before starting anything when the api
# would refuse its configuration, with the api's own reason.
set -euo pipefail
cd "$(dirname "$0")/.."
compose=(docker compose)

"${compose[@]}" build
# Not the exit code: this machine's Compose does not always pass `run`'s on. The check prints
# one "access: ..." line when the configuration is accepted.
check=$("${compose[@]}" run --rm --no-deps -T api python -m llm_gateway.preflight 2>&1 || true)
access=$(grep '^access: ' <<<"$check" || true)
if [[ -z "$access" ]]; then
    echo "$check" >&2
    echo "make up: nothing started: the api refuses this configuration (reason above)" >&2
    exit 1
fi
if ! "${compose[@]}" up -d --wait; then
    echo "make up: the stack did not become healthy; the api's last lines:" >&2
    "${compose[@]}" logs --tail=30 api >&2 || true
    exit 1
fi
scripts/stack-urls.sh
echo "  $access"
