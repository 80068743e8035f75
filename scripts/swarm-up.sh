#!/usr/bin/env bash
# `make swarm-up`: the stack on Docker Swarm (deploy/swarm.yml over docker-compose.yml).
# Initialises a one-node swarm when this engine is in none (remembered, so `make swarm-down`
# leaves it again), labels this node for the proxy and Redis when no node is, builds the
# images, turns the keys and the metrics token into Docker secrets, checks the settings inside
# the api image, deploys, waits until every service runs all its replicas healthy, and says
# where it answers and whether clients need a key. Run it again to apply changes: a rolling
# update.
#
#   STACK               stack name (llm-gateway-swarm)
#   SWARM_MONITORING=1  add Prometheus (Compose profile `monitoring`)
#   SWARM_BUILD=0       do not build (the images come from a registry: API_IMAGE, PROXY_IMAGE)
#   SWARM_ADVERTISE_ADDR  address for `docker swarm init` (127.0.0.1: this machine only)
#   SWARM_RESOLVE_IMAGE never (default: local images) | always | changed: pin registry digests
#   SWARM_WAIT_TIMEOUT  seconds to wait for the services (300)
# Everything else (API_REPLICAS, HTTPS_PORT, MODEL_BACKEND, ...) is read like `make up`
# reads it: the shell first, then .env.
set -euo pipefail
cd "$(dirname "$0")/.."
stack=${STACK:-llm-gateway-swarm}
export COMPOSE_PROJECT_NAME=$stack
state_dir=.swarm
state="$state_dir/$stack"
profiles=()
[[ "${SWARM_MONITORING:-0}" == 1 ]] && profiles=(--profile monitoring)
compose=(docker compose -f docker-compose.yml -f deploy/swarm.yml "${profiles[@]}")
say() { printf 'swarm-up: %s\n' "$*"; }

# --- the swarm --------------------------------------------------------------------------
mkdir -p "$state_dir"
if [[ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != active ]]; then
    say "no swarm here: docker swarm init --advertise-addr ${SWARM_ADVERTISE_ADDR:-127.0.0.1}"
    # docker_gwbridge is created by `swarm init` and outlives `swarm leave`: remember whether
    # it was there before, so that swarm-down removes only what this created.
    if ! docker network inspect docker_gwbridge >/dev/null 2>&1; then
        echo "created_gwbridge=1" >>"$state"
    fi
    docker swarm init --advertise-addr "${SWARM_ADVERTISE_ADDR:-127.0.0.1}" >/dev/null
    # The cluster id, so that swarm-down never leaves a swarm someone else created since.
    echo "created_swarm=$(docker info --format '{{.Swarm.Cluster.ID}}')" >>"$state"
fi
if [[ "$(docker info --format '{{.Swarm.ControlAvailable}}')" != true ]]; then
    echo "swarm-up: this node is not a swarm manager: run it on a manager" >&2
    exit 1
fi
node=$(docker info --format '{{.Swarm.NodeID}}')
for role in proxy redis; do
    label="llm-gateway.$role"
    if ! docker node ls -q | xargs docker node inspect \
        --format "{{index .Spec.Labels \"$label\"}}" | grep -qx true; then
        say "pinning $role (and its volume) to this node: label $label=true"
        docker node update --label-add "$label=true" "$node" >/dev/null
        echo "added_label=$node $label" >>"$state"
    fi
done

# --- images -----------------------------------------------------------------------------
if [[ "${SWARM_BUILD:-1}" == 1 ]]; then
    "${compose[@]}" build
fi

# --- secrets: content-addressed names, so new content is a rolling update ---------------
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
declare -A host_env=()
while IFS='=' read -r name value; do host_env[$name]=$value; done \
    < <(python3 scripts/swarm_stack.py --host-env api)

keys="$workdir/api_keys"
keys_file=${host_env[API_KEYS_FILE]:-}
if [[ -z "$keys_file" && -z "${host_env[API_KEYS]:-}" ]]; then
    keys_file=secrets/api_keys
    if [[ ! -s "$keys_file" ]]; then
        say "no API_KEYS, API_KEYS_FILE or secrets/api_keys: creating a key (a swarm is meant"
        say "to be reached from other machines; for an open stack use make up)"
        scripts/api-key.sh "$keys_file" | sed 's/^/  /'
    fi
fi
{
    [[ -n "$keys_file" ]] && cat "$keys_file"
    tr ',' '\n' <<<"${host_env[API_KEYS]:-}"
} >"$keys"
if ! grep -qv '^[[:space:]]*\(#\|$\)' "$keys"; then
    echo "swarm-up: nothing deployed: ${keys_file:-API_KEYS} holds no key (a swarm stack is always keyed)" >&2
    exit 1
fi

token="$workdir/metrics_token"
token_file=${host_env[METRICS_TOKEN_FILE]:-}
if [[ -n "${host_env[METRICS_TOKEN]:-}" ]]; then
    printf '%s\n' "${host_env[METRICS_TOKEN]}" >"$token"
else
    if [[ -z "$token_file" ]]; then
        token_file=secrets/metrics_token
        if [[ ! -s "$token_file" ]]; then
            say "creating a metrics token in $token_file (Prometheus gets it as a secret too)"
            mkdir -p secrets && chmod 0755 secrets
            (umask 022 && python3 -c 'import secrets; print(secrets.token_urlsafe(32))' >"$token_file")
        fi
    fi
    cp "$token_file" "$token"
fi
chmod 0644 "$keys" "$token"

create_secret() {  # name-prefix file -> prints the secret's name
    local name
    name="$1_$(sha256sum <"$2" | cut -c1-12)"
    if ! docker secret inspect "$name" >/dev/null 2>&1; then
        docker secret create --label "com.docker.stack.namespace=$stack" "$name" "$2" >/dev/null
    fi
    echo "$name"
}
API_KEYS_SECRET=$(create_secret "${stack}_api_keys" "$keys")
METRICS_TOKEN_SECRET=$(create_secret "${stack}_metrics_token" "$token")
export API_KEYS_SECRET METRICS_TOKEN_SECRET

# --- the settings, checked by the api image itself (as `make up` does) ------------------
python3 scripts/swarm_stack.py "${profiles[@]}" >"$workdir/stack.json"
api_image=$(python3 - "$workdir/stack.json" "$workdir/api.env" <<'PY'
import json, sys
api = json.load(open(sys.argv[1]))["services"]["api"]
with open(sys.argv[2], "w") as env:
    env.writelines(f"{name}={value or ''}\n" for name, value in api["environment"].items())
print(api["image"])
PY
)
check=$(docker run --rm --env-file "$workdir/api.env" \
    -v "$keys:/run/secrets/api_keys:ro" -v "$token:/run/secrets/metrics_token:ro" \
    "$api_image" python -m llm_gateway.preflight 2>&1 || true)
access=$(grep '^access: ' <<<"$check" || true)
if [[ -z "$access" ]]; then
    echo "$check" >&2
    echo "swarm-up: nothing deployed: the api refuses this configuration (reason above)" >&2
    exit 1
fi

# --- deploy, then wait until every service runs all its replicas, healthy ---------------
docker stack deploy --detach=true --resolve-image "${SWARM_RESOLVE_IMAGE:-never}" \
    --with-registry-auth --prune \
    -c "$workdir/stack.json" "$stack" 2>&1 | sed 's/^/  /'
scripts/swarm-wait.sh "$stack" "${SWARM_WAIT_TIMEOUT:-300}"

# Secrets of this stack that no service uses any more (replaced by new content).
for old in $(docker secret ls -q --filter "label=com.docker.stack.namespace=$stack"); do
    docker secret rm "$old" >/dev/null 2>&1 || true
done

scripts/swarm-urls.sh "$stack"
echo "  $access"
