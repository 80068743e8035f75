#!/usr/bin/env python3
"""The Swarm stack file, rendered from the Compose files (standard library only).

    python3 scripts/swarm_stack.py [--profile monitoring] > stack.json
    python3 scripts/swarm_stack.py --host-env api        # NAME=value lines of the api in the
                                                         # Compose stack (no swarm override)

`docker compose -f docker-compose.yml -f deploy/swarm.yml config` does the real work: it
reads the shell and .env exactly as `make up` does, applies the swarm override and
interpolates everything. `docker stack deploy` reads no .env and its loader is stricter
than Compose's, so the output is reshaped here, and only here:

- no top-level `name`, no `profiles`, no null fields (the stack schema refuses them);
- no `build` or `restart` (Swarm ignores them: images are built beforehand, and
  `deploy.restart_policy` replaces `restart`);
- published ports and tmpfs sizes as integers, CPU amounts as strings (the schema's types);
- configs read from a file get their content's digest in their name: Swarm configs are
  immutable, so a changed file becomes a new config and a rolling update.

The project name (COMPOSE_PROJECT_NAME, set by scripts/swarm-up.sh to the stack's name)
prefixes the networks, volumes and configs, as `docker stack deploy` would.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILES = ("docker-compose.yml", "deploy/swarm.yml")
SWARM_IGNORES = ("build", "restart", "profiles")


def compose_config(files: tuple[str, ...], profiles: list[str]) -> dict[str, Any]:
    command = ["docker", "compose"]
    for name in files:
        command += ["-f", str(ROOT / name)]
    for profile in profiles:
        command += ["--profile", profile]
    command += ["config", "--format", "json"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"swarm_stack: {' '.join(command)} failed:\n{result.stderr.strip()}")
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def stack_file(config: dict[str, Any]) -> dict[str, Any]:
    """`docker compose config` output -> what `docker stack deploy -c -` accepts."""
    config.pop("name", None)
    for service in config.get("services", {}).values():
        for key in [k for k, v in service.items() if v is None or k in SWARM_IGNORES]:
            del service[key]
        if not service.get("depends_on"):
            service.pop("depends_on", None)
        for port in service.get("ports", []):
            if "published" in port:
                port["published"] = int(port["published"])
        for volume in service.get("volumes", []):
            if "size" in volume.get("tmpfs", {}):
                volume["tmpfs"]["size"] = int(volume["tmpfs"]["size"])
        resources = service.get("deploy", {}).get("resources", {})
        for amounts in resources.values():
            if "cpus" in amounts:
                amounts["cpus"] = str(amounts["cpus"])
    for config_def in config.get("configs", {}).values():
        if "file" in config_def:
            config_def["name"] = f"{config_def['name']}_{digest(config_def['file'])}"
    return config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--profile", action="append", default=[], help="a Compose profile")
    parser.add_argument(
        "--host-env",
        metavar="SERVICE",
        help="print a service's environment in the Compose stack (without the swarm override)",
    )
    args = parser.parse_args()
    if args.host_env:
        # What the Compose stack would hand this service: where swarm-up finds the keys.
        config = compose_config(COMPOSE_FILES[:1], args.profile)
        for name, value in config["services"][args.host_env].get("environment", {}).items():
            print(f"{name}={'' if value is None else value}")
        return 0
    json.dump(stack_file(compose_config(COMPOSE_FILES, args.profile)), sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
