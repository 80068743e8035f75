"""A real gunicorn + uvicorn-worker server on loopback (`ServerProcess`), started like `make
serve` with mock-backed settings that ignore the developer's `.env`, and the one way a test
module gets one: `running_server` inside a test, `server_fixture` for a fixture."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

from .markers import require_marker
from .paths import REPO_ROOT, VENV_BIN
from .polling import poll_until
from .processes import free_port, wait_serving


class ServerProcess:
    """A real gunicorn + uvicorn-worker server on loopback, started like `make serve`; only
    from a test marked `server` (and `model` for the llama backend).

    Its metrics files go to a fresh PROMETHEUS_MULTIPROC_DIR (removed on stop) unless `env`
    names one; its output (JSON log lines) goes to `log_path`."""

    def __init__(self, env: dict[str, str], *, timeout: float = 60.0) -> None:
        full_env = {
            **os.environ,
            "ENV_FILE": "/dev/null",
            "HOST": "127.0.0.1,::1",
            "WORKERS": "1",
            "MODEL_BACKEND": "mock",
            "MODEL_ID": "mock-model",
            "MODEL_ALIASES": "gpt-3.5-turbo",
            "LOG_FORMAT": "json",
            **env,
        }
        require_marker("server")
        if full_env["MODEL_BACKEND"] == "llama":
            require_marker("model")
        self.port = free_port()
        full_env["PORT"] = str(self.port)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._own_metrics_dir: str | None = None
        if "PROMETHEUS_MULTIPROC_DIR" not in env:
            self._own_metrics_dir = tempfile.mkdtemp(prefix="llm-gateway-test-metrics-")
            full_env["PROMETHEUS_MULTIPROC_DIR"] = self._own_metrics_dir
        if "RESPONSE_STORE" not in env:  # its own store, not the repository's data/
            store = Path(self._own_metrics_dir or tempfile.mkdtemp()) / "responses.db"
            full_env["RESPONSE_STORE"] = str(store)
        self.log_path = Path(f"/tmp/llm-gateway-test-{self.port}.log")
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-c", "api/gunicorn.conf.py"],
            cwd=REPO_ROOT,
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def wait_ready(self, timeout: float) -> None:
        wait_serving(
            self.proc,
            lambda: httpx.get(f"{self.base_url}/ready", timeout=2).status_code == 200,
            timeout=timeout,
            interval=0.1,
            what="/ready to say 200",
            logs=self.logs,
            retry_on=(httpx.HTTPError,),
        )

    def logs(self) -> str:
        """The end of the server's output (the server writes it straight to the file)."""
        return self.log_path.read_text(errors="replace")[-20000:]

    def log_records(self) -> list[dict[str, Any]]:
        """Every JSON log line so far (the server logs JSON only)."""
        records = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict):
                    records.append(record)
        return records

    def wait_for_log(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 10.0
    ) -> dict[str, Any]:
        """The first log record `match` accepts, waiting for it to be written."""

        def first_match() -> dict[str, Any] | None:
            return next((r for r in self.log_records() if match(r)), None)

        try:
            found = poll_until(first_match, timeout, what="a matching log line")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.logs()}") from None
        assert found is not None
        return found

    def request_line(self, request_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The canonical log line of one request, written once its response has ended."""
        return self.wait_for_log(
            lambda r: r.get("event") == "request" and r.get("request_id") == request_id, timeout
        )

    def worker_pids(self) -> list[int]:
        out = subprocess.run(
            ["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True, check=False
        )
        return [int(p) for p in out.stdout.split()]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()
        if self._own_metrics_dir is not None:
            shutil.rmtree(self._own_metrics_dir, ignore_errors=True)
        return self.proc.returncode


@contextlib.contextmanager
def running_server(**env: str) -> Iterator[ServerProcess]:
    server = ServerProcess(env)
    try:
        yield server
    finally:
        server.stop()


# A server's settings: environment variables, or a function of the fixture request that
# returns them (for settings that need other fixtures: `request.getfixturevalue(...)`).
ServerEnv = Mapping[str, str] | Callable[[pytest.FixtureRequest], Mapping[str, str]]


def server_fixture(
    env: ServerEnv,
    *,
    scope: Literal["session", "package", "module"] = "module",
    doc: str | None = None,
) -> Any:
    """A fixture that runs one server with these settings for its scope (a module's by
    default): `keyed_api = server_fixture({"API_KEYS": KEY}, doc="...")` in a test module or
    conftest. The fixture takes its name from the variable it is assigned to; a test using
    it needs the `server` marker (its module's `pytestmark`, or PROCESS_FIXTURES)."""

    def fixture(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
        with running_server(**(env(request) if callable(env) else env)) as server:
            yield server

    fixture.__doc__ = doc
    return pytest.fixture(scope=scope)(fixture)
