"""What the reliability tests share: request bodies, well-formedness checks, gauges, RSS."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from ..helpers import ServerProcess, sse_payloads
from ..observability.scrape import parse, value

CHAT = "/v1/chat/completions"
MODEL = "mock-model"
# Each request on its own connection, so a test controls what is in flight.
CLOSE = {"connection": "close"}
# Generous, only so that nothing can hang a test run.
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def chat_body(*, stream: bool = False, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Tell me something."}],
        **extra,
    }
    if stream:
        body["stream"] = True
    return body


def post_chat(server: ServerProcess, *, stream: bool = False, **extra: Any) -> httpx.Response:
    return httpx.post(
        server.base_url + CHAT,
        json=chat_body(stream=stream, **extra),
        headers=CLOSE,
        timeout=TIMEOUT,
    )


def in_parallel(count: int, call: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    """`call(i)` for i in range(count), all at once, each on its own thread."""
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(call, range(count)))


def assert_completed(response: httpx.Response, *, stream: bool) -> None:
    """A 200 that carries a whole answer: a folded body, or a stream that reached its
    finish_reason and `[DONE]`."""
    assert response.status_code == 200, response.text
    if stream:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert_stream_finished(sse_payloads(response.text))
    else:
        body = response.json()
        assert body["object"] == "chat.completion"
        assert body["choices"][0]["finish_reason"] in {"stop", "length"}
        assert body["choices"][0]["message"]["content"]


def assert_stream_finished(events: list[Any]) -> None:
    assert events[-1] == "[DONE]", events[-3:]
    chunks = events[:-1]
    assert all("error" not in chunk for chunk in chunks), chunks[-2:]
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] in {"stop", "length"}, finishes[-3:]
    assert all(f is None for f in finishes[:-1])


def assert_error(
    response: httpx.Response, status: int, type_: str, code: str, *, retry_after: bool = True
) -> dict[str, Any]:
    """An OpenAI error body with this status, type and code (and a Retry-After in seconds)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["type"], error["code"]) == (type_, code)
    assert isinstance(error["message"], str) and error["message"]
    if retry_after:
        assert int(response.headers["retry-after"]) >= 1
    return dict(error)


def slot_gauges(server: ServerProcess) -> tuple[float, float]:
    """(running, waiting) summed over the workers, from /metrics."""
    r = httpx.get(server.base_url + "/metrics", headers=CLOSE, timeout=TIMEOUT)
    assert r.status_code == 200
    samples = parse(r.text)
    return (
        value(samples, "llm_gateway_num_requests_running", model=MODEL),
        value(samples, "llm_gateway_num_requests_waiting", model=MODEL),
    )


def wait_until(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not after {timeout}s: {what}")
        time.sleep(0.05)


def wait_for_gauges(server: ServerProcess, running: float, waiting: float) -> None:
    wait_until(
        lambda: slot_gauges(server) == (running, waiting),
        f"running={running} waiting={waiting} (last: {slot_gauges(server)})",
    )


def rss_kb(pid: int) -> int:
    """Resident set size of a process, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def read_events(lines: Any) -> list[Any]:
    """The SSE payloads from an iterator of lines (JSON-decoded, `[DONE]` kept as text)."""
    out: list[Any] = []
    for line in lines:
        if line.startswith("data: "):
            data = line[len("data: ") :]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out
