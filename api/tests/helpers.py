"""How tests get the app: in process (`asgi_client`) or as a real gunicorn server on loopback
(`ServerProcess`), with mock-backed settings that ignore the developer's `.env`."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from llm_gateway.app import create_app
from llm_gateway.assets import DEFAULT_MODEL
from llm_gateway.config import Settings

from .support.markers import require_marker
from .support.polling import poll_until

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
MODEL_FILE = REPO_ROOT / DEFAULT_MODEL.path
# The default model's end-of-generation tokens (<|endoftext|>, <|im_end|>, <reponame>) as a
# `logit_bias` that bans them: its answer then lasts exactly `max_tokens` tokens.
NEVER_END = {"0": -100, "2": -100, "4": -100}


def settings(**overrides: Any) -> Settings:
    """Mock-backed settings that ignore the developer's `.env`."""
    values: dict[str, Any] = {
        "model_backend": "mock",
        "model_id": "mock-model",
        "model_aliases": "gpt-3.5-turbo",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class AppClient(httpx.AsyncClient):
    """An httpx client wired to an app in this process; `app` is that app (its state)."""

    def __init__(self, app: FastAPI) -> None:
        super().__init__(transport=httpx.ASGITransport(app=app), base_url="http://test")
        self.app = app


@contextlib.asynccontextmanager
async def asgi_client(
    s: Settings | None = None, backend: dict[str, Any] | None = None
) -> AsyncIterator[AppClient]:
    """An in-process client: the real app, lifespan included, no sockets. `backend`: the
    backend's own settings (e.g. `mock_ttft_ms`)."""
    app = create_app(s or settings(), backend_options=backend)
    async with app.router.lifespan_context(app):
        for task in app.state.loading:
            await task
        async with AppClient(app) as client:
            yield client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited early:\n{self.logs()}")
            return httpx.get(f"{self.base_url}/ready", timeout=2).status_code == 200

        try:
            poll_until(ready, timeout, 0.1, what="/ready to say 200", retry_on=(httpx.HTTPError,))
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.logs()}") from None

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
