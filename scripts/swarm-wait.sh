#!/usr/bin/env bash
# Wait until a Swarm stack has converged: every service runs all its replicas (healthy: Swarm
# counts a task with a healthcheck as running only once it is healthy), each from the
# service's current spec (image, environment, secrets, resources, forced updates), and no
# update is under way.
#   scripts/swarm-wait.sh STACK [TIMEOUT_SECONDS]
# Exits 1 on timeout, or at once when an update was rolled back or paused, with the tasks
# and their errors.
set -euo pipefail
stack=$1
deadline=$((SECONDS + ${2:-300}))
# What a task copies from its service's spec and an update changes. Right after an update
# Swarm may not have marked it "updating" yet; tasks from the old spec show it anyway.
spec='{{.ContainerSpec.Image}} {{.ForceUpdate}} {{json .ContainerSpec.Env}} {{json .ContainerSpec.Secrets}} {{json .Resources}}'

problems() {  # one line per service that is not there yet; nothing when all are
    local service name replicas update want tasks running current
    for service in $(docker stack services -q "$stack" 2>/dev/null); do
        read -r name replicas update < <(docker service inspect "$service" --format \
            '{{.Spec.Name}} {{if .Spec.Mode.Replicated}}{{.Spec.Mode.Replicated.Replicas}}{{else}}-{{end}} {{if .UpdateStatus}}{{.UpdateStatus.State}}{{else}}none{{end}}')
        case "$update" in
            rollback_completed | rollback_paused | paused)
                echo "FATAL $name: update $update: $(docker service inspect "$service" \
                    --format '{{.UpdateStatus.Message}}')"
                continue ;;
            updating | rollback_started)
                echo "$name: update $update"
                continue ;;
        esac
        want=$(docker service inspect "$service" --format "{{with .Spec.TaskTemplate}}$spec{{end}}")
        tasks=$(docker service ps -q --filter desired-state=running "$service")
        running=0
        current=0
        if [[ -n "$tasks" ]]; then
            running=$(docker inspect $tasks --format '{{.Status.State}}' | grep -cx running || true)
            current=$(docker inspect $tasks --format "{{with .Spec}}$spec{{end}}" \
                | grep -cxF "$want" || true)
        fi
        [[ "$replicas" == - ]] && replicas=$(wc -w <<<"$tasks")
        if [[ "$running" != "$replicas" || "$current" != "$replicas" ]] \
            || (($(wc -w <<<"$tasks") != replicas)); then
            echo "$name: $running/$replicas running, $current from the current spec"
        fi
    done
}

last=""
while :; do
    if [[ -z "$(docker stack services -q "$stack" 2>/dev/null)" ]]; then
        current="no services yet"
    else
        current=$(problems)
    fi
    [[ -z "$current" ]] && break
    if [[ "$current" != "$last" ]]; then
        sed 's/^/  waiting: /' <<<"$current"
        last=$current
    fi
    if grep -q '^FATAL' <<<"$current" || ((SECONDS >= deadline)); then
        echo "swarm-wait: $stack is not ready:" >&2
        docker stack ps --no-trunc --format '  {{.Name}} {{.CurrentState}} {{.Error}}' "$stack" \
            | head -40 >&2 || true
        exit 1
    fi
    sleep 1
done
echo "  every service of $stack runs all its replicas, healthy, from its current spec"
