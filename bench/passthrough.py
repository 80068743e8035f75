"""What the openai backend's extra hop costs, at concurrency 1 over loopback.

Starts two servers as `make serve` would: an upstream with the mock backend, and a gateway
with MODEL_BACKEND=openai in front of it. Then, one request at a time, alternating between
the two (so that drift on a busy machine hits both alike), asks both the same question
(keep-alive connections, the same client) and prints, for each path, the median and p90
latency, and the difference: what a request pays for the hop. It also prints the CPU time
the gateway's worker spent per request, which, unlike latency, does not depend on what else
the machine is doing.

    .venv/bin/python bench/passthrough.py [--requests 400] [--json]

Measured: whole chat completions (not streamed), and streamed ones to their first content
chunk and to `[DONE]`; 16 tokens an answer.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).parent / "gunicorn"
MESSAGES = [{"role": "user", "content": "Measure me."}]
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    port: int
    workers: list[int]

    def cpu_seconds(self) -> float:
        """CPU time (user + system) its workers have used so far."""
        total = 0
        for pid in self.workers:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / TICKS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ready(port: int) -> bool:
    with contextlib.suppress(OSError):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/ready")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    return False


@contextlib.contextmanager
def server(**env: str) -> Iterator[Server]:
    """A gunicorn server with one worker on a free loopback port."""
    port = free_port()
    metrics_dir = tempfile.mkdtemp(prefix="llm-gateway-bench-")
    full_env = {
        **os.environ,
        "ENV_FILE": "/dev/null",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WORKERS": "1",
        "MODEL_ID": "mock-model",
        "LOG_LEVEL": "warning",
        "PROMETHEUS_MULTIPROC_DIR": metrics_dir,
        **env,
    }
    proc = subprocess.Popen(
        [str(GUNICORN), "-c", "api/gunicorn.conf.py"],
        cwd=REPO_ROOT,
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server on port {port} did not start")
            time.sleep(0.1)
        children = subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True, check=False
        )
        yield Server(port, [int(pid) for pid in children.stdout.split()])
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(metrics_dir, ignore_errors=True)


def one_request(conn: http.client.HTTPConnection, body: bytes, stream: bool) -> tuple[float, float]:
    """Seconds to the first content chunk (or the whole body), and to the end."""
    start = time.perf_counter()
    conn.request("POST", "/v1/chat/completions", body, {"content-type": "application/json"})
    response = conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"status {response.status}: {response.read()[:300]!r}")
    if not stream:
        response.read()
        end = time.perf_counter() - start
        return end, end
    first = None
    while line := response.readline():
        if first is None and b'"content":"' in line and b'"content":""' not in line:
            first = time.perf_counter() - start
        if line.startswith(b"data: [DONE]"):
            break
    response.read()
    return first if first is not None else float("nan"), time.perf_counter() - start


def measure(
    servers: dict[str, Server], requests: int, stream: bool
) -> tuple[dict[str, tuple[list[float], list[float]]], float]:
    """Per path: (firsts, totals); and the gateway worker's CPU seconds per request."""
    body = json.dumps(
        {
            "model": "mock-model",
            "messages": MESSAGES,
            "max_tokens": 16,
            "stream": stream,
        }
    ).encode()
    conns = {
        name: http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
        for name, s in servers.items()
    }
    for _ in range(max(20, requests // 10)):  # warm-up: connections, caches, lazy imports
        for conn in conns.values():
            one_request(conn, body, stream)
    samples: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in servers}
    cpu_before = servers["gateway"].cpu_seconds()
    for _ in range(requests):
        for name, conn in conns.items():
            first, total = one_request(conn, body, stream)
            samples[name][0].append(first)
            samples[name][1].append(total)
    cpu = (servers["gateway"].cpu_seconds() - cpu_before) / requests
    for conn in conns.values():
        conn.close()
    return samples, cpu


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p90_ms": round(ordered[int(len(ordered) * 0.9)] * 1000, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="per path and measure")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    results: dict[str, dict[str, dict[str, float]]] = {}
    with server(MODEL_BACKEND="mock") as upstream:
        url = f"http://127.0.0.1:{upstream.port}/v1"
        with server(MODEL_BACKEND="openai", UPSTREAM_BASE_URL=url) as gateway:
            servers = {"direct": upstream, "gateway": gateway}
            whole, whole_cpu = measure(servers, args.requests, stream=False)
            streamed, streamed_cpu = measure(servers, args.requests, stream=True)
    for name, samples, pick, cpu in (
        ("chat", whole, 1, whole_cpu),
        ("stream_first_chunk", streamed, 0, streamed_cpu),
        ("stream_done", streamed, 1, streamed_cpu),
    ):
        d, g = summary(samples["direct"][pick]), summary(samples["gateway"][pick])
        results[name] = {
            "direct": d,
            "gateway": g,
            "added": {k: round(g[k] - d[k], 3) for k in d},
            "gateway_cpu": {"ms_per_request": round(cpu * 1000, 3)},
        }
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"{'':<20}{'direct ms':>18}{'gateway ms':>18}{'added ms':>18}{'gateway CPU':>14}")
    print(f"{'':<20}{'median / p90':>18}{'median / p90':>18}{'median / p90':>18}{'ms/request':>14}")
    for name, r in results.items():
        cells = [
            f"{r[k]['median_ms']:.3f} / {r[k]['p90_ms']:.3f}"
            for k in ("direct", "gateway", "added")
        ]
        print(
            f"{name:<20}{cells[0]:>18}{cells[1]:>18}{cells[2]:>18}{r['gateway_cpu']['ms_per_request']:>14.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
