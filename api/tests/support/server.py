"""A real gunicorn + uvicorn-worker server on loopback (`ServerProcess`), started like `make
serve` with mock-backed settings that ignore the developer's `.env`, and the one way a test
module gets one: `running_server` inside a test, `server_fixture` for a fixture."""

from __future__ import annotations

import contextlib
import inspect
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
            # In a folder of its own: a scrape reads every *.db file of the metrics folder.
            store = Path(self._own_metrics_dir or tempfile.mkdtemp()) / "store" / "responses.db"
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
        def serving() -> bool:
            return httpx.get(f"{self.base_url}/ready", timeout=2).status_code == 200

        wait_serving(self.proc, serving, timeout, "/ready to say 200", self.logs)

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


def server_fixture(
    env: Mapping[str, str] | Callable[..., Mapping[str, str]],
    *,
    scope: Literal["session", "package", "module"] = "module",
    doc: str | None = None,
) -> Any:
    """A fixture that runs one server with these settings for its scope (a module's by
    default), assigned to the fixture's name: `keyed_api = server_fixture({"API_KEYS": KEY})`.

    `env` may be a function of other fixtures, named by its parameters, when the settings
    depend on them: `server_fixture(lambda model_file: llama_env(model_file))`. The fixture
    asks for them itself, so pytest sees them (and the markers they carry) statically. A test
    using the fixture needs the `server` marker: its module's `pytestmark`, or PROCESS_FIXTURES
    in tests/conftest.py for a shared fixture."""
    needs = list(inspect.signature(env).parameters) if callable(env) else []

    def fixture(**needed: Any) -> Iterator[ServerProcess]:
        with running_server(**(env(**needed) if callable(env) else env)) as server:
            yield server

    return as_fixture(fixture, needs, scope, doc)


def as_fixture(function: Callable[..., Any], needs: list[str], scope: str, doc: str | None) -> Any:
    """`function(**needs)` as a pytest fixture that asks for the fixtures named `needs`."""
    function.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY) for name in needs]
    )
    function.__doc__ = doc
    return pytest.fixture(scope=scope)(function)  # type: ignore[call-overload]
