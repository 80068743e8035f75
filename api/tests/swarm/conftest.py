"""The stack on a one-node Docker Swarm for these tests (`make test-swarm`): deployed by
`make swarm-up` under its own stack name and ports (9443/9480), removed by `make swarm-down`,
and checked to leave nothing behind.

Which replica served a request: the client sends its own `X-Request-ID`, and the api's
canonical log line (`"event": "request"`) carries it; the container that logged it is the
task that served it (its `com.docker.swarm.task.name` label). On several nodes the same
evidence comes from `docker service logs`, whose lines start with the task's name."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import secrets
import shutil
import ssl
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ..support.docker import require_docker
from ..support.edge import ALLOWED_ORIGIN
from ..support.paths import REPO_ROOT
from ..support.polling import poll_until

STACK = os.environ.get("SWARM_TEST_STACK", "llmgw-swarm-test")
HTTPS_PORT = int(os.environ.get("SWARM_TEST_HTTPS_PORT", "9443"))
HTTP_PORT = int(os.environ.get("SWARM_TEST_HTTP_PORT", "9480"))
API_IMAGE = "llm-gateway-api:swarm-test"
LOADTEST_IMAGE = "llm-gateway-loadtest:swarm-test"
# The load parts: the mock backend with a small per-token delay (runs fast on 2 cores; the
# Compose tests cover the real model).
MOCK = {
    "MODEL_BACKEND": "mock",
    "MOCK_TTFT_MS": "20",
    "MOCK_TOKEN_MS": "10",
}
CA_PATH = "/data/caddy/pki/authorities/local/root.crt"


def run(*command: str, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    result = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({result.returncode}):\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result.stdout + result.stderr


def docker(*args: str, timeout: float = 120) -> str:
    return run("docker", *args, timeout=timeout)


@dataclass(frozen=True)
class LoadResult:
    exit_code: int
    requests: int
    failures: int
    output: str


class Load:
    """locust (loadtest/) in a container on the stack's overlay network, against
    https://proxy with Caddy's CA trusted; stopped with `docker stop` when the test has seen
    what it waits for (locust then lets requests in flight finish, writes its report and
    exits with its verdict)."""

    def __init__(self, swarm: Swarm, users: int, max_failure_ratio: float, max_tokens: int) -> None:
        self.name = f"{STACK}-locust-{uuid.uuid4().hex[:8]}"
        self.results = Path(tempfile.mkdtemp(prefix="swarm-locust-"))
        self.results.chmod(0o777)  # the image runs as uid 1000
        docker(
            "run", "-d", "--name", self.name,
            "--network", swarm.network,
            "-v", f"{swarm.ca_cert}:/ca/root.crt:ro",
            "-v", f"{self.results}:/loadtest/results",
            "-e", "LOADTEST_HOST=https://proxy",
            "-e", "LOADTEST_CA_CERT=/ca/root.crt",
            "-e", f"LOADTEST_API_KEY={swarm.key}",
            "-e", f"LOADTEST_MAX_TOKENS={max_tokens}",
            "-e", f"LOADTEST_MAX_FAILURE_RATIO={max_failure_ratio}",
            "-e", "LOADTEST_MAX_TTFT_P95_MS=60000",
            "-e", f"USERS={users}",
            "-e", f"SPAWN_RATE={users}",
            "-e", "DURATION=30m",
            LOADTEST_IMAGE,
        )  # fmt: skip

    def counts(self) -> tuple[int, int]:
        """(requests, failures) so far, from locust's CSV (rewritten every second), without
        its TTFT/TPOT pseudo-entries."""
        path = self.results / "stats_stats.csv"
        if not path.is_file():
            return 0, 0
        requests = failures = 0
        with path.open() as f:
            for row in csv.DictReader(f):
                if row["Type"] in {"TTFT", "TPOT"} or row["Name"] == "Aggregated":
                    continue
                requests += int(row["Request Count"])
                failures += int(row["Failure Count"])
        return requests, failures

    def wait_for_requests(self, more: int) -> None:
        """Until `more` requests beyond the current count have been made."""
        target = self.counts()[0] + more
        poll_until(self.counts, 120, 0.5, until=lambda c: c[0] >= target, what=f"{target} requests")

    def stop(self) -> LoadResult:
        docker("stop", "-t", "60", self.name, timeout=90)
        code = int(docker("inspect", self.name, "--format", "{{.State.ExitCode}}").strip())
        output = docker("logs", self.name)
        requests, failures = self.counts()
        return LoadResult(code, requests, failures, output[-3000:])

    def remove(self) -> None:
        subprocess.run(["docker", "rm", "-f", self.name], capture_output=True, check=False)
        shutil.rmtree(self.results, ignore_errors=True)


class Swarm:
    """`make swarm-up` / `make swarm-down` on this repository, and what the tests look at."""

    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="swarm-test-"))
        self.workdir.chmod(0o755)
        self.key = f"sk-swarm-{secrets.token_urlsafe(16)}"
        self.metrics_token = secrets.token_urlsafe(16)
        keys = self.workdir / "api_keys"
        keys.write_text(f"# the swarm tests' key\n{self.key}\n")
        token = self.workdir / "metrics_token"
        token.write_text(self.metrics_token + "\n")
        self.ca_cert = self.workdir / "root.crt"
        self.env = {
            **os.environ,
            "STACK": STACK,
            "HTTPS_PORT": str(HTTPS_PORT),
            "HTTP_PORT": str(HTTP_PORT),
            "API_IMAGE": API_IMAGE,
            "PROXY_IMAGE": "llm-gateway-proxy:swarm-test",
            "CORS_ORIGINS": ALLOWED_ORIGIN,
            "SWARM_MONITORING": "1",
            "API_REPLICAS": "2",
            # Host paths, read by swarm-up to create the secrets.
            "API_KEYS": "",
            "API_KEYS_FILE": str(keys),
            "METRICS_TOKEN": "",
            "METRICS_TOKEN_FILE": str(token),
        }
        self.deployed: dict[str, str] | None = None
        self.base_url = f"https://localhost:{HTTPS_PORT}"
        self.network = f"{STACK}_default"
        self.last_up = ""

    # --- deploying ---------------------------------------------------------------------
    def make(self, target: str, **env: str) -> str:
        return run("make", target, env={**self.env, **env}, timeout=900)

    def deploy(self, **settings: str) -> str:
        """`make swarm-up` with these settings on top of the defaults (again: a rolling
        update), unless the stack already runs exactly them."""
        if self.deployed != settings:
            self.last_up = self.make("swarm-up", **settings)
            self.deployed = dict(settings)
            self.fetch_ca()
        return self.last_up

    @property
    def deployed_settings(self) -> dict[str, str]:
        return dict(self.deployed or {})

    def wait(self) -> None:
        run(str(REPO_ROOT / "scripts/swarm-wait.sh"), STACK, "180", timeout=240)

    def fetch_ca(self) -> None:
        container = self.containers("proxy")[0]
        docker("cp", f"{container}:{CA_PATH}", str(self.ca_cert))
        self.ca_cert.chmod(0o644)  # read by the locust container's uid

    # --- looking at it -----------------------------------------------------------------
    def service(self, name: str) -> str:
        return f"{STACK}_{name}"

    def containers(self, service: str, *, all_states: bool = False) -> list[str]:
        label = f"label=com.docker.swarm.service.name={self.service(service)}"
        flags = ["-a"] if all_states else []
        return docker("ps", "-q", *flags, "--filter", label).split()

    def running_tasks(self) -> dict[str, str]:
        """Task id -> task name of every api task Swarm wants running and that runs."""
        out = docker(
            "service", "ps", self.service("api"), "--no-trunc",
            "--filter", "desired-state=running",
            "--format", "{{.ID}} {{.Name}} {{.CurrentState}}",
        )  # fmt: skip
        tasks = {}
        for line in out.splitlines():
            task_id, name, state = line.split(" ", 2)
            if state.startswith("Running"):
                tasks[task_id] = name
        return tasks

    def served_by(self, request_ids: list[str]) -> dict[str, str]:
        """Request id -> id of the api task whose canonical log line carries it."""
        wanted = set(request_ids)
        found: dict[str, str] = {}
        for container in self.containers("api", all_states=True):
            task = docker(
                "inspect", container, "--format",
                '{{index .Config.Labels "com.docker.swarm.task.id"}}',
            ).strip()  # fmt: skip
            for line in docker("logs", container).splitlines():
                if '"event":"request"' not in line:
                    continue
                with contextlib.suppress(ValueError):
                    record = json.loads(line)
                    if record.get("request_id") in wanted:
                        found[record["request_id"]] = task
        return found

    def task_of(self, request_id: str) -> str:
        found = poll_until(
            lambda: self.served_by([request_id]),
            30,
            0.2,
            until=lambda f: request_id in f,
            what=f"the log line of request {request_id}",
        )
        return found[request_id]

    @property
    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_cert))

    def client(self, *, key: str | None = "default", **kwargs: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.key if key == 'default' else key}"}
        if key is None:
            headers = {}
        return httpx.Client(
            base_url=self.base_url,
            verify=self.tls,
            timeout=60,
            headers=headers,
            **kwargs,  # type: ignore[arg-type]
        )

    def on_network(self, script: str) -> str:
        """Run Python in a throw-away container of the api image on the stack's network."""
        return docker(
            "run", "--rm", "--network", self.network, "--entrypoint", "python",
            API_IMAGE, "-c", script,
        )  # fmt: skip

    @contextlib.contextmanager
    def load(
        self, users: int, *, max_failure_ratio: float = 0.0, max_tokens: int = 16
    ) -> Iterator[Load]:
        load = Load(self, users, max_failure_ratio, max_tokens)
        try:
            yield load
        finally:
            load.remove()


@dataclass(frozen=True)
class Leftovers:
    swarm: str
    gwbridge: bool
    names: frozenset[str]


def leftovers() -> Leftovers:
    """The swarm's state, and every Docker object named after the test stack."""
    state = docker("info", "--format", "{{.Swarm.LocalNodeState}}").strip()
    networks = docker("network", "ls", "--format", "{{.Name}}").split()
    names = set(networks) | set(docker("volume", "ls", "-q").split())
    names |= set(docker("ps", "-a", "--format", "{{.Names}}").split())
    if state == "active":
        names |= set(docker("service", "ls", "--format", "{{.Name}}").split())
        names |= set(docker("secret", "ls", "--format", "{{.Name}}").split())
        names |= set(docker("config", "ls", "--format", "{{.Name}}").split())
    return Leftovers(
        swarm=state,
        gwbridge="docker_gwbridge" in networks,
        names=frozenset(n for n in names if n.startswith(STACK)),
    )


@pytest.fixture(scope="session")
def swarm() -> Iterator[Swarm]:
    require_docker("swarm", "make test-swarm")
    s = Swarm()
    # What a crashed earlier run may have left (its state file says what it created).
    s.make("swarm-down", SWARM_VOLUMES="rm")
    before = leftovers()
    assert not before.names, f"objects of the test stack exist already: {sorted(before.names)}"
    docker("build", "-q", "-t", LOADTEST_IMAGE, str(REPO_ROOT / "loadtest"), timeout=600)
    try:
        yield s
    except Exception:
        with contextlib.suppress(Exception):
            print(docker("stack", "ps", "--no-trunc", STACK))
        raise
    finally:
        down = s.make("swarm-down", SWARM_VOLUMES="rm")
        shutil.rmtree(s.workdir, ignore_errors=True)
        after = leftovers()
        # Nothing of the stack remains, and the swarm is as it was: left again when
        # make swarm-up created it.
        assert after == before, f"left behind: {after} (before: {before})\n{down}"


@pytest.fixture
def mock_swarm(swarm: Swarm) -> Swarm:
    """The stack with the mock backend (a rolling update when it ran the default)."""
    swarm.deploy(**MOCK)
    return swarm
