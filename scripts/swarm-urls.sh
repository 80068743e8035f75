#!/usr/bin/env bash
# Print where a Swarm stack answers and whether it really asks for a key (probed live through
# the proxy with its CA trusted, when the proxy runs on this node: 401 without a key = keyed).
#   scripts/swarm-urls.sh STACK
set -euo pipefail
stack=$1
proxy="${stack}_proxy"
env_of() { docker service inspect "$1" --format '{{range .Spec.TaskTemplate.ContainerSpec.Env}}{{println .}}{{end}}'; }
site=$(env_of "$proxy" | sed -n 's/^SITE_ADDRESS=//p')
site=${site:-localhost}
port=$(docker service inspect "$proxy" \
    --format '{{range .Spec.EndpointSpec.Ports}}{{if eq .TargetPort 443}}{{.PublishedPort}}{{end}}{{end}}')
node=$(docker service ps "$proxy" --filter desired-state=running --format '{{.Node}}' | head -1)
replicas=$(docker service inspect "${stack}_api" --format '{{.Spec.Mode.Replicated.Replicas}}')
container=$(docker ps -q --filter "label=com.docker.swarm.service.name=$proxy" | head -1)
ca_path=/data/caddy/pki/authorities/local/root.crt
status="?"
if [[ -n "$container" ]]; then
    ca=$(mktemp)
    trap 'rm -f "$ca"' EXIT
    docker cp "$container:$ca_path" "$ca" >/dev/null 2>&1 || true
    status=$(python3 - "$site" "$port" "$ca" <<'PY' 2>/dev/null || echo "?"
import socket, ssl, sys
site, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
# This node's port, the certificate checked for the site's name (local CA or a public one).
context = ssl.create_default_context()
context.load_verify_locations(ca)
with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
    with context.wrap_socket(raw, server_hostname=site) as tls:
        tls.sendall(f"GET /v1/models HTTP/1.1\r\nHost: {site}\r\nConnection: close\r\n\r\n".encode())
        print(tls.recv(64).split()[1].decode())
PY
)
fi
[[ "$port" == 443 ]] && port=
echo
echo "  API (OpenAI base URL): https://${site}${port:+:$port}/v1   (proxy on node $node)"
echo "  api replicas:          $replicas (docker service scale ${stack}_api=N)"
echo "  metrics:               not published; Prometheus scrapes tasks.api on the overlay network"
echo "  trust the local CA:    on $node: docker cp \$(docker ps -q -f label=com.docker.swarm.service.name=$proxy):$ca_path ."
case "$status" in
    401) echo "  live check:            keyed (a request without a key gets 401)" ;;
    200) echo "  live check:            OPEN (a request without a key gets 200)" ;;
    "?") echo "  live check:            skipped (the proxy runs on another node, or did not answer)" ;;
    *) echo "  live check:            /v1/models answered $status" ;;
esac
