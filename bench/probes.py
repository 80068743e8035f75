"""What the benchmark reads off the machine and the servers: CPU and memory while a run
goes, the model's end-of-generation tokens, versions, and a plain HTTP POST."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import servers

ROOT = servers.ROOT


def post(url: str, body: dict[str, Any]) -> bytes:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        data: bytes = response.read()
        return data


@contextlib.contextmanager
def sampling_rss(pids: list[int], every: float = 0.25) -> Iterator[dict[int, float]]:
    """The highest RSS of each process while the block runs."""
    peaks = {p: servers.rss_mb(p) for p in pids}
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(every):
            for p in pids:
                with contextlib.suppress(OSError):
                    peaks[p] = max(peaks[p], servers.rss_mb(p))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peaks
    finally:
        stop.set()
        thread.join()


@contextlib.contextmanager
def other_cpu(*watched: servers.Server) -> Iterator[dict[str, float]]:
    """CPU seconds while the block ran: the whole machine's busy and total (all cores), and
    the watched servers'. Minus the load generator's own, what is left is everybody else's."""
    out: dict[str, float] = {}
    busy0, total0 = servers.machine_cpu()
    ours0 = sum(server.cpu() for server in watched)
    yield out
    busy1, total1 = servers.machine_cpu()
    ours = sum(server.cpu() for server in watched) - ours0
    out["busy"], out["total"], out["ours"] = busy1 - busy0, total1 - total0, ours


def eog_tokens(model: str) -> list[int]:
    """The model's end-of-generation tokens (banned, so every stream has max_tokens)."""
    code = (
        "import json, sys, llama_cpp\n"
        "llm = llama_cpp.Llama(sys.argv[1], n_ctx=64, verbose=False, vocab_only=True)\n"
        "v = llama_cpp.llama_model_get_vocab(llm.model)\n"
        "n = llama_cpp.llama_vocab_n_tokens(v)\n"
        "print(json.dumps([t for t in range(n) if llama_cpp.llama_vocab_is_eog(v, t)]))\n"
    )
    out = subprocess.run(
        [str(servers.BENCH_VENV / "python"), "-c", code, model],
        capture_output=True,
        check=True,
        timeout=120,
    )
    tokens: list[int] = json.loads(out.stdout)
    return tokens


def llama_server_version(binary: str) -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
        lines = (out.stdout + out.stderr).strip().splitlines()
        return next((line for line in lines if line.startswith("version")), "")
    return ""


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "commit": commit + ("+dirty" if dirty else ""),
    }


def wait_quiet(max_wait: float, threshold: float, results: dict[str, Any]) -> None:
    """Wait (up to max_wait seconds) for the 1-minute load average to drop below threshold."""
    start = time.monotonic()
    while os.getloadavg()[0] >= threshold and time.monotonic() - start < max_wait:
        print(f"bench: load {os.getloadavg()[0]:.2f} >= {threshold}: waiting for a quiet machine")
        time.sleep(min(30.0, max(1.0, max_wait - (time.monotonic() - start))))
    results["quiet_wait_s"] = round(time.monotonic() - start, 1)
