#!/usr/bin/env bash
# Print where the running stack answers, and whether it really asks for a key (probed live on
# the api's loopback port: 401 without a key means keyed).
set -euo pipefail
site=$(docker compose exec -T proxy printenv SITE_ADDRESS 2>/dev/null || echo localhost)
port=$(docker compose port proxy 443 2>/dev/null | sed 's/.*://')
[ "$port" = 443 ] && port=
api=$(docker compose port api 8001 2>/dev/null || true)
status=$(python3 - "http://${api:-127.0.0.1:8001}/v1/models" <<'PY' 2>/dev/null || echo "?"
import sys, urllib.error, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=5).status)
except urllib.error.HTTPError as exc:
    print(exc.code)
PY
)
echo
echo "  API (OpenAI base URL): https://${site}${port:+:$port}/v1"
echo "  metrics (loopback):    http://${api:-127.0.0.1:8001}/metrics"
echo "  trust the local CA:    docker compose cp proxy:/data/caddy/pki/authorities/local/root.crt ."
case "$status" in
    401) echo "  live check:            keyed (a request without a key gets 401)" ;;
    200) echo "  live check:            OPEN (a request without a key gets 200): set API_KEYS_FILE before exposing it" ;;
    *) echo "  live check:            /v1/models answered $status" ;;
esac
