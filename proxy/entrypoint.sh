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
exec caddy run --config "${CADDYFILE:-/etc/caddy/Caddyfile}" --adapter caddyfile
