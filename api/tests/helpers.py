"""Small helpers shared by the tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx

from llm_gateway.app import create_app
from llm_gateway.assets import DEFAULT_MODEL
from llm_gateway.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
MODEL_FILE = REPO_ROOT / DEFAULT_MODEL.path
T = TypeVar("T")


def settings(**overrides: Any) -> Settings:
    """Mock-backed settings that ignore the developer's `.env`."""
    values: dict[str, Any] = {
        "model_backend": "mock",
        "model_id": "mock-model",
        "model_aliases": "gpt-3.5-turbo",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@contextlib.asynccontextmanager
async def asgi_client(
    s: Settings | None = None, backend: dict[str, Any] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client: the real app, lifespan included, no sockets. `backend`: the
    backend's own settings (e.g. `mock_ttft_ms`)."""
    app = create_app(s or settings(), backend_options=backend)
    async with app.router.lifespan_context(app):
        for task in app.state.loading:
            await task
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def sse_payloads(body: str) -> list[Any]:
    """Every `data:` payload of an SSE body, JSON-decoded except the final `[DONE]`."""
    out: list[Any] = []
    for event in body.split("\n\n"):
        if not event.strip():
            continue
        assert event.startswith("data: "), f"not an SSE data event: {event!r}"
        data = event[len("data: ") :]
        out.append(data if data == "[DONE]" else json.loads(data))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """A real gunicorn + uvicorn-worker server on loopback, started like `make serve`.

    Its metrics files go to a fresh PROMETHEUS_MULTIPROC_DIR (removed on stop) unless `env`
    names one; its output (JSON log lines) goes to `log_path`."""

    def __init__(self, env: dict[str, str], *, timeout: float = 60.0) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._own_metrics_dir: str | None = None
        if "PROMETHEUS_MULTIPROC_DIR" not in env:
            self._own_metrics_dir = tempfile.mkdtemp(prefix="llm-gateway-test-metrics-")
            env = {**env, "PROMETHEUS_MULTIPROC_DIR": self._own_metrics_dir}
        if "RESPONSE_STORE" not in env:  # its own store, not the repository's data/
            store = Path(self._own_metrics_dir or tempfile.mkdtemp()) / "responses.db"
            env = {**env, "RESPONSE_STORE": str(store)}
        full_env = {
            **os.environ,
            "ENV_FILE": "/dev/null",
            "HOST": "127.0.0.1,::1",
            "PORT": str(self.port),
            "WORKERS": "1",
            "MODEL_BACKEND": "mock",
            "MODEL_ID": "mock-model",
            "MODEL_ALIASES": "gpt-3.5-turbo",
            "LOG_FORMAT": "json",
            **env,
        }
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
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.logs()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/ready", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not ready after {timeout}s:\n{self.logs()}")

    def logs(self) -> str:
        self._log.flush()
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
        deadline = time.monotonic() + timeout
        while True:
            for record in self.log_records():
                if match(record):
                    return record
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching log line after {timeout}s:\n{self.logs()}")
            time.sleep(0.05)

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


def sse_events(body: str) -> list[tuple[str | None, Any]]:
    """Every event of an SSE body as (its `event:` name or None, its JSON-decoded `data:`)."""
    out: list[tuple[str | None, Any]] = []
    for block in body.split("\n\n"):
        if not block.strip():
            continue
        name, data = None, None
        for line in block.split("\n"):
            field, _, value = line.partition(": ")
            if field == "event":
                name = value
            elif field == "data":
                data = value
        assert data is not None, f"an SSE event without data: {block!r}"
        out.append((name, data if data == "[DONE]" else json.loads(data)))
    return out


def poll_until(
    probe: Callable[[], T], accept: Callable[[T], bool], *, timeout: float = 30, what: str = ""
) -> T:
    """`probe()` again and again until `accept` takes its result; fails after `timeout`
    seconds (a deadline against hanging, not a speed requirement)."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if accept(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what or 'a condition'}: last {result!r}")
        time.sleep(0.05)


async def poll_until_async(
    predicate: Callable[[], Awaitable[bool]], *, within: float, what: str, interval: float = 0.1
) -> None:
    """Await `predicate()` until it is true; fail saying `what` was awaited after `within` s."""
    deadline = time.monotonic() + within
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(interval)
