#!/usr/bin/env bash
# Print where the running stack answers.
set -euo pipefail
site=$(docker compose exec -T proxy printenv SITE_ADDRESS 2>/dev/null || echo localhost)
port=$(docker compose port proxy 443 2>/dev/null | sed 's/.*://')
[ "$port" = 443 ] && port=
api=$(docker compose port api 8001 2>/dev/null || true)
echo
echo "  API (OpenAI base URL): https://${site}${port:+:$port}/v1"
echo "  metrics (loopback):    http://${api:-127.0.0.1:8001}/metrics"
echo "  trust the local CA:    docker compose cp proxy:/data/caddy/pki/authorities/local/root.crt ."
