"""The servers under test, each a process group of its own on loopback: the gateway (real
gunicorn, as `make serve` starts it), a bare ASGI app under the same gunicorn worker class,
llama-cpp-python's own server, and llama.cpp's `llama-server`."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv" / "bin"
BENCH_VENV = ROOT / ".venv-bench" / "bin"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, over all cores."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    total = sum(fields)
    idle = fields[3] + fields[4]
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


@dataclass
class Server:
    name: str
    url: str  # base URL, no trailing slash
    proc: subprocess.Popen[bytes]
    log: Path
    model: str = "default"
    details: dict[str, object] = field(default_factory=dict)

    def workers(self) -> list[int]:
        """The processes doing the work: gunicorn's workers, or the server itself."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        with contextlib.suppress(OSError):
            pids = [int(p) for p in children.read_text().split()]
            if pids and "gunicorn" in self.details.get("kind", ""):  # type: ignore[operator]
                return pids
        return [self.proc.pid]

    def cpu(self) -> float:
        """CPU seconds of the server and its workers so far (live processes only)."""
        total = 0.0
        for pid in {self.proc.pid, *self.workers()}:
            with contextlib.suppress(OSError):
                total += cpu_seconds(pid)
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except OSError:
        return 0


def _start(
    name: str,
    argv: list[str],
    env: dict[str, str],
    ready_path: str,
    port: int,
    logs: Path,
    timeout: float = 120,
    **details: object,
) -> Server:
    log = logs / f"{name.replace(' ', '_').replace('/', '_')}.log"
    handle = log.open("wb")
    proc = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    handle.close()
    server = Server(name, f"http://127.0.0.1:{port}", proc, log, details=dict(details))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited early; see {log}")
        if _get(server.url + ready_path) == 200:
            return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{name} not ready after {timeout:g}s; see {log}")


def _base_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    return {k: v for k, v in os.environ.items() if k in keep}


def gateway(
    name: str, logs: Path, *, workers: int, env: dict[str, str], metrics_dir: Path
) -> Server:
    """The real server: gunicorn + uvicorn workers with api/gunicorn.conf.py."""
    port = free_port()
    full = {
        **_base_env(),
        "ENV_FILE": "/dev/null",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WORKERS": str(workers),
        "LOG_FORMAT": "json",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "MODEL_ID": "bench",
        "MODEL_ALIASES": "gpt-3.5-turbo",
        **env,
    }
    metrics_dir.mkdir(parents=True, exist_ok=True)
    return _start(
        name,
        [str(VENV / "gunicorn"), "-c", "api/gunicorn.conf.py"],
        full,
        "/ready",
        port,
        logs,
        kind="gunicorn",
    )


def bare(name: str, logs: Path, *, body: Path, events: Path) -> Server:
    """A bare ASGI app on the gateway's worker class and settings (one worker)."""
    port = free_port()
    env = {
        **_base_env(),
        "BARE_BODY": str(body),
        "BARE_EVENTS": str(events),
        "PYTHONPATH": str(ROOT / "bench"),
    }
    argv = [
        str(VENV / "gunicorn"),
        "bare_app:app",
        "--worker-class",
        "llm_gateway.serving.Worker",
        "--workers",
        "1",
        "--bind",
        f"127.0.0.1:{port}",
        "--keep-alive",
        "75",
        "--graceful-timeout",
        "30",
        "--timeout",
        "120",
    ]
    return _start(name, argv, env, "/health", port, logs, kind="gunicorn")


def llama_cpp_server(name: str, logs: Path, *, model: str, threads: int, n_ctx: int) -> Server:
    """llama-cpp-python's own OpenAI-compatible server (one request at a time, the others
    wait)."""
    port = free_port()
    argv = [
        str(BENCH_VENV / "python"),
        "-m",
        "llama_cpp.server",
        "--model",
        model,
        "--n_threads",
        str(threads),
        "--n_threads_batch",
        str(threads),
        "--n_ctx",
        str(n_ctx),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        # Its default drops a running stream when another request arrives; queue instead.
        "--interrupt_requests",
        "false",
    ]
    return _start(name, argv, _base_env(), "/v1/models", port, logs, kind="llama_cpp.server")


def llama_server(
    name: str,
    logs: Path,
    *,
    binary: str,
    model: str,
    threads: int,
    parallel: int,
    n_ctx: int,
    extra: tuple[str, ...] = (),
) -> Server:
    """llama.cpp's own server, with its defaults apart from threads, slots and context (and
    `extra` arguments, e.g. `--embeddings`)."""
    port = free_port()
    argv = [
        binary,
        "--model",
        model,
        "--threads",
        str(threads),
        "--threads-batch",
        str(threads),
        "--parallel",
        str(parallel),
        "--ctx-size",
        str(n_ctx * parallel),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-webui",
        *extra,
    ]
    return _start(name, argv, _base_env(), "/health", port, logs, kind="llama-server")


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        yield server
    finally:
        server.stop()
