#!/usr/bin/env bash
# The README's main command, proven: `make up`, one chat completion through the proxy with
# Caddy's local CA trusted, then everything removed again.
set -euo pipefail
cd "$(dirname "$0")/.."
ca=$(mktemp)
trap 'docker compose down -v --remove-orphans >/dev/null 2>&1 || true; rm -f "$ca"' EXIT
make up
docker compose cp proxy:/data/caddy/pki/authorities/local/root.crt "$ca" >/dev/null
port=$(docker compose port proxy 443 | sed 's/.*://')
body=$(curl --silent --show-error --fail --cacert "$ca" "https://localhost:${port}/v1/chat/completions" \
  -H 'Content-Type: application/json' \
  -d '{"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 16}')
echo "$body"
python3 -c 'import json,sys; b=json.loads(sys.argv[1]); assert b["object"]=="chat.completion" and b["choices"][0]["message"]["content"], b' "$body"
echo "make up: OK"
