#!/usr/bin/env bash
# `make swarm-down`: remove the Swarm stack, its secrets and configs, the node labels
# `make swarm-up` added, and leave the swarm when `make swarm-up` created it (and no other
# stack runs in it). Volumes (Redis' data, Caddy's CA) are kept, like `make down` keeps them,
# unless SWARM_VOLUMES=rm.
#   STACK  stack name (llm-gateway-swarm)
set -euo pipefail
cd "$(dirname "$0")/.."
stack=${STACK:-llm-gateway-swarm}
state=.swarm/$stack
say() { printf 'swarm-down: %s\n' "$*"; }

if [[ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != active ]]; then
    say "this engine is in no swarm: nothing to remove"
    rm -f "$state"
    exit 0
fi
label="label=com.docker.stack.namespace=$stack"
if [[ -n "$(docker stack services -q "$stack" 2>/dev/null)" ]]; then
    docker stack rm "$stack" | sed 's/^/  /'
fi
# `docker stack rm` returns at once; its containers and network go away in the background.
for _ in $(seq 1 120); do
    if [[ -z "$(docker ps -aq --filter "$label")" && -z "$(docker network ls -q --filter "$label")" ]]; then
        break
    fi
    sleep 1
done
for secret in $(docker secret ls -q --filter "$label"); do docker secret rm "$secret" >/dev/null; done
for config in $(docker config ls -q --filter "$label"); do docker config rm "$config" >/dev/null; done
if [[ "${SWARM_VOLUMES:-keep}" == rm ]]; then
    for volume in $(docker volume ls -q --filter "$label"); do
        docker volume rm "$volume" >/dev/null
    done
    say "volumes removed"
else
    volumes=$(docker volume ls -q --filter "$label" | tr '\n' ' ')
    [[ -n "$volumes" ]] && say "kept the volumes $volumes(SWARM_VOLUMES=rm removes them)"
fi

created=""
gwbridge=""
if [[ -f "$state" ]]; then
    while read -r line; do
        case "$line" in
            added_label=*)
                read -r node key <<<"${line#added_label=}"
                docker node update --label-rm "$key" "$node" >/dev/null 2>&1 || true ;;
            created_swarm=*) created=${line#created_swarm=} ;;
            created_gwbridge=*) gwbridge=1 ;;
        esac
    done <"$state"
    rm -f "$state"
fi
if [[ -n "$created" && "$created" == "$(docker info --format '{{.Swarm.Cluster.ID}}')" ]]; then
    others=$(docker stack ls --format '{{.Name}}' | grep -vx "$stack" || true)
    if [[ -z "$others" ]]; then
        docker swarm leave --force >/dev/null
        [[ -n "$gwbridge" ]] && docker network rm docker_gwbridge >/dev/null 2>&1 || true
        say "left the swarm make swarm-up had created"
    else
        say "kept the swarm make swarm-up had created: other stacks run in it ($others)"
    fi
fi
say "$stack removed"
