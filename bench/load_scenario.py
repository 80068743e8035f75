"""`make test-load` (`python bench/load_scenario.py`): how much one api worker behind Caddy
holds (issue #24, part 3).

Runs gunicorn natively (one worker, the mock backend: a token every LOAD_TOKEN_MS) behind the
real Caddy (proxy/Caddyfile, TLS from its local CA) on loopback, then:

1. LOAD_STREAMS streaming chat completions at once through Caddy: every one must end with
   `[DONE]` (the pass criterion: 0 errors); TTFT p50/p99, the peak of open streams, the
   worker's RSS per open stream and Caddy's RSS are reported.
2. LOAD_IDLE keep-alive connections held idle on Caddy (each made one request, then waits),
   and LOAD_ACTIVE streams run beside them, against the same streams without them: the TTFT
   with and without says whether idle connections slow active requests.

Not part of `make test` (it measures; it asserts no timing). The figures depend on the
machine: run it where nothing else runs. Raw HTTP/1.1 over asyncio TLS streams, so that the
client (in the same machine) costs as little CPU as possible per connection.

    LOAD_STREAMS (1000)  LOAD_IDLE (5000)  LOAD_ACTIVE (100)  LOAD_TOKEN_MS (20)
    LOAD_TOKENS (500 tokens per answer: 10 s, so that every stream is open at once)
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from servers import free_port, rss_mb  # bench/: the same helpers the benchmark uses

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent

STREAMS = int(os.environ.get("LOAD_STREAMS", "1000"))
IDLE = int(os.environ.get("LOAD_IDLE", "5000"))
ACTIVE = int(os.environ.get("LOAD_ACTIVE", "100"))
TOKEN_MS = float(os.environ.get("LOAD_TOKEN_MS", "20"))
TOKENS = int(os.environ.get("LOAD_TOKENS", "500"))
STREAM_TIMEOUT = 300.0  # seconds: a stream still open after this counts as an error


def wait_for(probe: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"load: {what} did not happen within {timeout:.0f} s")


@dataclass
class Stack:
    api: subprocess.Popen[bytes]
    caddy: subprocess.Popen[bytes]
    api_port: int
    https_port: int
    ca_cert: Path
    home: Path
    worker: int = 0

    @property
    def caddy_pid(self) -> int:
        """Caddy itself (entrypoint.sh execs it, so the same pid)."""
        return self.caddy.pid

    def running(self) -> float:
        """Open streams on the api, from its /metrics."""
        url = f"http://127.0.0.1:{self.api_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("llm_gateway_num_requests_running{"):
                    return float(line.rsplit(" ", 1)[1])
        return 0.0


@contextmanager
def stack() -> Iterator[Stack]:
    home = Path(tempfile.mkdtemp(prefix="load-scenario-"))
    api_port, https_port = free_port(), free_port()
    limit = str(max(STREAMS, ACTIVE) * 2)
    api_env = {
        **os.environ,
        "ENV_FILE": "/dev/null",
        "HOST": "127.0.0.1",
        "PORT": str(api_port),
        "WORKERS": "1",
        "MODEL_BACKEND": "mock",
        "MODEL_ID": "mock-model",
        "MOCK_TOKEN_MS": f"{TOKEN_MS:g}",
        "MOCK_TTFT_MS": f"{TOKEN_MS:g}",
        "MOCK_MAX_TOKENS": str(TOKENS),
        # The defaults (256 running and 64 waiting per worker for the mock) would answer the
        # rest with 429 at once: the backpressure this scenario moves out of the way.
        "MAX_CONCURRENT": limit,
        "MAX_QUEUE": limit,
        "LOG_LEVEL": "warning",
        "LOG_FORMAT": "json",
        "PROMETHEUS_MULTIPROC_DIR": str(home / "metrics"),
        "RESPONSE_STORE": str(home / "store/responses.db"),
    }
    api_log = (home / "api.log").open("wb")
    api = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "-c", "api/gunicorn.conf.py"],
        cwd=REPO,
        env=api_env,
        stdout=api_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    caddy_env = {
        **os.environ,
        "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
        "CADDYFILE": str(REPO / "proxy/Caddyfile"),
        "WEB_ROOT": str(REPO / "proxy/web"),
        "SITE_ADDRESS": "localhost",
        "INTERNAL_NAME": "proxy.internal",
        "HTTPS_PORT": str(https_port),
        "HTTP_PORT": str(free_port()),
        "PROXY_HEALTH_PORT": str(free_port()),
        "API_HOST": "127.0.0.1",
        "API_PORT": str(api_port),
        "CORS_ORIGINS": "*",
        "PROXY_MAX_BODY": "2MB",
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "HOME": str(home),
    }
    caddy = subprocess.Popen(
        ["sh", str(REPO / "proxy/entrypoint.sh")],
        env=caddy_env,
        stdout=(home / "caddy.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    s = Stack(
        api,
        caddy,
        api_port,
        https_port,
        home / "data/caddy/pki/authorities/local/root.crt",
        home,
    )
    try:
        wait_for(
            lambda: (
                urllib.request.urlopen(f"http://127.0.0.1:{api_port}/ready", timeout=2).status
                == 200
            ),
            "the api to be ready",
        )
        workers = subprocess.run(["pgrep", "-P", str(api.pid)], capture_output=True, text=True)
        s.worker = int(workers.stdout.split()[0])
        wait_for(s.ca_cert.is_file, "Caddy's local CA")
        yield s
    finally:
        for proc in (caddy, api):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        api_log.close()
        shutil.rmtree(home, ignore_errors=True)


@dataclass
class Result:
    ttft: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    connected: int = 0  # connections made (or failed): the requests start once all are


def request_bytes(port: int) -> bytes:
    body = json.dumps(
        {
            "model": "mock-model",
            "messages": [{"role": "user", "content": "Tell me something."}],
            "stream": True,
        }
    ).encode()
    return (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: localhost:{port}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode() + body


async def one_stream(s: Stack, tls: ssl.SSLContext, result: Result, go: asyncio.Event) -> None:
    """Connect (TLS), wait for everyone to be connected, then one streamed answer to its end."""
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", s.https_port, ssl=tls, server_hostname="localhost"
        )
    except OSError as exc:
        result.errors.append(f"connect: {exc}")
        result.connected += 1
        return
    result.connected += 1
    try:
        await go.wait()
        start = time.perf_counter()
        writer.write(request_bytes(s.https_port))
        seen = b""
        first: float | None = None
        async with asyncio.timeout(STREAM_TIMEOUT):
            while b"data: [DONE]" not in seen:
                data = await reader.read(65536)
                if not data:
                    raise ConnectionError("closed before [DONE]")
                seen = seen[-64:] + data if first is not None else seen + data
                if first is None:
                    if not seen.startswith(b"HTTP/1.1 200"):
                        raise ConnectionError(seen.split(b"\r\n", 1)[0].decode(errors="replace"))
                    if b'"content":"' in seen:
                        first = time.perf_counter() - start
        result.ttft.append(first if first is not None else time.perf_counter() - start)
    except (OSError, TimeoutError) as exc:
        result.errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        writer.close()


async def streams(s: Stack, tls: ssl.SSLContext, count: int) -> Result:
    result = Result()
    go = asyncio.Event()
    tasks = [asyncio.create_task(one_stream(s, tls, result, go)) for _ in range(count)]
    # Every connection (and TLS handshake) is made before the requests start, together.
    # A count many tasks raise, polled: one Event per connection would cost more than it saves.
    while result.connected < count:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    go.set()
    await asyncio.gather(*tasks)
    return result


async def idle_connections(s: Stack, tls: ssl.SSLContext, count: int) -> list[asyncio.StreamWriter]:
    """`count` connections that made one request each and stay open (keep-alive)."""
    head = f"GET /health HTTP/1.1\r\nhost: localhost:{s.https_port}\r\n\r\n".encode()
    writers: list[asyncio.StreamWriter] = []
    sem = asyncio.Semaphore(200)  # handshakes at once: the machine's CPU is shared

    async def one() -> None:
        async with sem:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", s.https_port, ssl=tls, server_hostname="localhost"
            )
            writer.write(head)
            got = await reader.read(4096)
            if not got.startswith(b"HTTP/1.1 200"):
                raise ConnectionError(got[:80])
            writers.append(writer)

    await asyncio.gather(*(one() for _ in range(count)))
    return writers


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextmanager
def sampling(s: Stack) -> Iterator[dict[str, float]]:
    """Peak worker RSS, Caddy RSS and open streams while the block runs."""
    peaks = {"worker_rss_mb": 0.0, "caddy_rss_mb": 0.0, "open_streams": 0.0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            try:
                running = s.running()
                worker, caddy = rss_mb(s.worker), rss_mb(s.caddy_pid)
            except OSError:
                continue
            if running >= peaks["open_streams"]:
                peaks["open_streams"] = running
                peaks["worker_rss_at_peak_mb"] = worker
            peaks["worker_rss_mb"] = max(peaks["worker_rss_mb"], worker)
            peaks["caddy_rss_mb"] = max(peaks["caddy_rss_mb"], caddy)
            stop.wait(0.2)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peaks
    finally:
        stop.set()
        thread.join()


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


async def scenario() -> dict[str, Any]:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with stack() as s:
        tls = ssl.create_default_context(cafile=str(s.ca_cert))
        await streams(s, tls, 10)  # warm-up
        idle_worker, idle_caddy = rss_mb(s.worker), rss_mb(s.caddy_pid)
        with sampling(s) as peaks:
            started = time.perf_counter()
            held = await streams(s, tls, STREAMS)
            took = time.perf_counter() - started
        per_stream_kb = (
            (peaks.get("worker_rss_at_peak_mb", idle_worker) - idle_worker)
            * 1024
            / max(1.0, peaks["open_streams"])
        )
        alone = await streams(s, tls, ACTIVE)
        idle = await idle_connections(s, tls, IDLE)
        caddy_with_idle = rss_mb(s.caddy_pid)
        beside = await streams(s, tls, ACTIVE)
        for writer in idle:
            writer.close()
        return {
            "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()},
            "nofile_limit": hard,
            "streams": {
                "count": STREAMS,
                "errors": len(held.errors),
                "error_samples": held.errors[:5],
                "seconds": round(took, 1),
                "peak_open_on_the_worker": peaks["open_streams"],
                "ttft_p50_ms": ms(percentile(held.ttft, 0.5)),
                "ttft_p99_ms": ms(percentile(held.ttft, 0.99)),
                "worker_rss_idle_mb": round(idle_worker, 1),
                "worker_rss_peak_mb": round(peaks["worker_rss_mb"], 1),
                "worker_rss_per_open_stream_kb": round(per_stream_kb, 1),
                "caddy_rss_idle_mb": round(idle_caddy, 1),
                "caddy_rss_peak_mb": round(peaks["caddy_rss_mb"], 1),
            },
            "idle_keepalive": {
                "idle_connections": len(idle),
                "caddy_rss_with_them_mb": round(caddy_with_idle, 1),
                "active_streams": ACTIVE,
                "errors_alone": len(alone.errors),
                "errors_beside_idle": len(beside.errors),
                "ttft_p50_ms_alone": ms(percentile(alone.ttft, 0.5)),
                "ttft_p50_ms_beside_idle": ms(percentile(beside.ttft, 0.5)),
                "ttft_p99_ms_alone": ms(percentile(alone.ttft, 0.99)),
                "ttft_p99_ms_beside_idle": ms(percentile(beside.ttft, 0.99)),
            },
        }


def main() -> int:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    report = asyncio.run(scenario())
    print(json.dumps(report, indent=2))
    failed = report["streams"]["errors"] or report["idle_keepalive"]["errors_beside_idle"]
    print(
        "load: " + ("FAILED (errors above)" if failed else "passed: 0 errors"),
        file=sys.stderr,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
