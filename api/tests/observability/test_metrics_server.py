"""Metrics summed over gunicorn workers (prometheus_client multiprocess mode), and counters
that survive a worker being killed and replaced."""

from __future__ import annotations

import json
import os
import signal
from typing import Any

import httpx

from ..support.polling import poll_until
from ..support.scrape import HISTOGRAMS, Samples, scrape, value
from ..support.server import ServerProcess
from ..support.sse import sse_payloads

CHAT_ROUTE = "/v1/chat/completions"
MODEL = {"model": "mock-model"}


def chat_count(samples: Samples) -> float:
    labels = {"route": CHAT_ROUTE, "method": "POST", "status": "200"}
    return value(samples, "llm_gateway_requests_total", **labels)


def numbers(samples: Samples) -> dict[str, float]:
    out = {
        "requests": chat_count(samples),
        "prompt": value(samples, "llm_gateway_prompt_tokens_total", **MODEL),
        "completion": value(samples, "llm_gateway_generation_tokens_total", **MODEL),
    }
    for name in HISTOGRAMS:
        out[name] = value(samples, name + "_count", **MODEL)
    return out


def one_request(server: ServerProcess, i: int) -> tuple[str, dict[str, int]]:
    """A chat request on a fresh connection (so the workers share them); returns the
    request id and the usage the client saw. Even i: non-streaming; odd: streaming."""
    body: dict[str, Any] = {
        **MODEL,
        "messages": [{"role": "user", "content": f"request {i}"}],
        "max_tokens": 2 + i % 3,
    }
    if i % 2:
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    r = httpx.post(
        f"{server.base_url}{CHAT_ROUTE}", json=body, headers={"connection": "close"}, timeout=30
    )
    assert r.status_code == 200, r.text
    usage = sse_payloads(r.text)[-2]["usage"] if i % 2 else r.json()["usage"]
    return r.headers["x-request-id"], usage


def pid_of(server: ServerProcess, request_id: str) -> int:
    return int(server.request_line(request_id)["pid"])


def test_counters_and_histograms_sum_over_workers_and_survive_a_killed_worker(
    observed_server: ServerProcess,
) -> None:
    server = observed_server
    before = numbers(scrape(server.base_url))
    pids: set[int] = set()
    prompt = completion = sent = 0
    # Keep going until both workers have answered some (new connections spread them).
    while sent < 8 or len(pids) < 2:
        assert sent < 80, f"every request went to worker(s) {pids}"
        request_id, usage = one_request(server, sent)
        sent += 1
        prompt += usage["prompt_tokens"]
        completion += usage["completion_tokens"]
        pids.add(pid_of(server, request_id))
    assert pids <= set(server.worker_pids())

    after = numbers(scrape(server.base_url))
    delta = {k: after[k] - before[k] for k in after}
    assert delta["requests"] == sent
    assert delta["prompt"] == prompt
    assert delta["completion"] == completion
    for name in HISTOGRAMS:
        assert delta[name] == sent, name

    victim = next(iter(pids))
    os.kill(victim, signal.SIGKILL)
    poll_until(
        server.worker_pids,
        30,
        0.1,
        until=lambda workers: len(workers) == 2 and victim not in workers,
        what=f"worker {victim} to be replaced",
    )
    server.wait_for_log(
        lambda e: e.get("pid") not in pids and e.get("event") == "Application startup complete."
    )

    survived = scrape(server.base_url)
    assert numbers(survived) == after  # nothing went backwards (nor forwards)
    assert value(survived, "llm_gateway_num_requests_running", **MODEL) == 0
    assert value(survived, "llm_gateway_build_info", version="0.1.0", backend="mock", **MODEL) == 1

    _, usage = one_request(server, 0)
    later = numbers(scrape(server.base_url))
    assert later["requests"] == after["requests"] + 1
    assert later["completion"] == after["completion"] + usage["completion_tokens"]


def test_every_log_line_is_json_gunicorn_and_uvicorn_included(
    observed_server: ServerProcess,
) -> None:
    httpx.get(f"{observed_server.base_url}/health")
    lines = [ln for ln in observed_server.log_path.read_text().splitlines() if ln.strip()]
    records = [json.loads(line) for line in lines]  # raises on any non-JSON line
    loggers = {r.get("logger") for r in records}
    assert {"gunicorn.error", "uvicorn.error", "llm_gateway.request"} <= loggers
    assert "uvicorn.access" not in loggers  # the canonical line replaces it
    assert all(isinstance(r.get("pid"), int) and r.get("timestamp") for r in records)
