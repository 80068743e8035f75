#!/usr/bin/env bash
# Append a new random API key to secrets/api_keys (readable by the container's uid 10001)
# and print it once. Use it with API_KEYS_FILE=secrets/api_keys.
set -euo pipefail
cd "$(dirname "$0")/.."
file="${1:-secrets/api_keys}"
mkdir -p "$(dirname "$file")"
chmod 0755 "$(dirname "$file")"
key="sk-$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
umask 022
printf '%s\n' "$key" >> "$file"
chmod 0644 "$file"
echo "added a key to $file ($(grep -cv '^\s*\(#\|$\)' "$file") key(s) now); it is shown only this once:"
echo "  $key"
echo "use it: API_KEYS_FILE=$file make up   (or make serve); clients send 'Authorization: Bearer <key>'"
