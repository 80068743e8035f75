"""Bring the real Compose stack up once for these tests (`make test-stack`)."""

from __future__ import annotations

import os
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ..support.docker import require_docker
from ..support.edge import ALLOWED_ORIGIN
from ..support.paths import REPO_ROOT
from ..support.polling import poll_until

PROJECT = "llm-gateway-test"


class Stack:
    """`docker compose` on this repository under its own project name and ports, so a
    stack the developer already runs is left alone."""

    def __init__(self) -> None:
        self.https_port = int(os.environ.get("STACK_HTTPS_PORT", "8443"))
        self.env = {
            **os.environ,
            "COMPOSE_PROJECT_NAME": PROJECT,
            "HTTPS_PORT": str(self.https_port),
            "HTTP_PORT": os.environ.get("STACK_HTTP_PORT", "8480"),
            "API_HOST_PORTS": "18001-18009",
            "CORS_ORIGINS": ALLOWED_ORIGIN,
            "USERS": "10",
            "DURATION": "30s",
            "LOADTEST_MAX_TOKENS": "16",
            # One worker, one model instance: 10 users queue behind each other here.
            "LOADTEST_MAX_TTFT_P95_MS": "30000",
        }
        self.base_url = f"https://localhost:{self.https_port}"
        self.ca_cert = Path(tempfile.mkdtemp(prefix="stack-ca-")) / "root.crt"

    def compose(self, *args: str, timeout: float = 900, check: bool = True) -> str:
        result = subprocess.run(
            ["docker", "compose", *args],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"docker compose {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        return result.stdout

    def api_ports(self) -> list[int]:
        ids = self.compose("ps", "-q", "api").split()
        ports = []
        for index in range(1, len(ids) + 1):
            out = self.compose("port", "--index", str(index), "api", "8001").strip()
            ports.append(int(out.rsplit(":", 1)[1]))
        return ports

    @property
    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_cert))

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, verify=self.tls, timeout=120, **kwargs)  # type: ignore[arg-type]

    def fetch_ca(self, timeout: float = 60) -> None:
        path = "proxy:/data/caddy/pki/authorities/local/root.crt"

        def copied() -> bool:
            self.compose("cp", path, str(self.ca_cert), check=False)
            return self.ca_cert.is_file()

        poll_until(copied, timeout, 1.0, what="Caddy's local CA certificate")


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    require_docker("stack", "make test-stack")
    s = Stack()
    s.compose("down", "-v", "--remove-orphans", check=False)
    try:
        s.compose("build")
        s.compose("up", "-d", "--wait", "--wait-timeout", "300")
        s.fetch_ca()
        yield s
    except Exception:
        print(s.compose("logs", "--tail=200", check=False))
        raise
    finally:
        s.compose("down", "-v", "--remove-orphans", check=False)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything here is for `make test-stack` only, whatever fixtures it uses."""
    for item in items:
        if "/stack/" in str(item.fspath):
            item.add_marker(pytest.mark.stack)
