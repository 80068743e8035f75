#!/bin/sh
# Turn CORS_ORIGINS ("*" or a comma/space separated list of origins) into the anchored
# regular expression the Caddyfile matches Origin against, then run Caddy.
set -eu
origins=${CORS_ORIGINS:-}
if [ "$origins" = "*" ]; then
	regex='^https?://.+$'
elif [ -z "$origins" ]; then
	regex='^$'
else
	alternatives=$(printf '%s' "$origins" | tr ', ' '\n\n' | sed '/^$/d' \
		| sed -e 's/[][\.^$*+?(){}|]/\\&/g' -e 's#/*$##' | paste -sd '|' -)
	regex="^(${alternatives})\$"
fi
export CORS_ORIGIN_REGEX="$regex"

# Caddy keeps its local CA private (mode 0600). The root certificate itself is public:
# when CA_PUBLISH_DIR is set, copy it there, readable by the other containers (load test).
publish_ca() {
	src="${XDG_DATA_HOME:-/data}/caddy/pki/authorities/local/root.crt"
	tries=0
	while [ ! -s "$src" ] && [ "$tries" -lt 120 ]; do
		sleep 1
		tries=$((tries + 1))
	done
	[ -s "$src" ] || return 0
	cp "$src" "$CA_PUBLISH_DIR/root.crt.tmp"
	chmod 0644 "$CA_PUBLISH_DIR/root.crt.tmp"
	mv "$CA_PUBLISH_DIR/root.crt.tmp" "$CA_PUBLISH_DIR/root.crt"
}
if [ -n "${CA_PUBLISH_DIR:-}" ]; then
	publish_ca &
fi

exec caddy run --config "${CADDYFILE:-/etc/caddy/Caddyfile}" --adapter caddyfile
