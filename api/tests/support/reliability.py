"""What the reliability tests share: chat requests on connections of their own, checks that an
answer or an error is well-formed, and the slot gauges read from /metrics."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from .polling import poll_until
from .scrape import scrape, value
from .server import ServerProcess
from .sse import sse_events, sse_payloads

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
    samples = scrape(server.base_url)
    return (
        value(samples, "llm_gateway_num_requests_running", model=MODEL),
        value(samples, "llm_gateway_num_requests_waiting", model=MODEL),
    )


def wait_for_gauges(server: ServerProcess, running: float, waiting: float) -> None:
    poll_until(
        lambda: slot_gauges(server),
        15,
        until=lambda gauges: gauges == (running, waiting),
        what=f"(running, waiting) == ({running}, {waiting})",
    )


@contextlib.contextmanager
def open_stream(server: ServerProcess) -> Iterator[tuple[httpx.Response, Iterator[Any]]]:
    """A streaming chat request, held open: yields the response and its payloads, once the
    first one has arrived (it is the first of the payloads, too)."""
    with httpx.stream(
        "POST", server.base_url + CHAT, json=chat_body(stream=True), headers=CLOSE, timeout=TIMEOUT
    ) as response:
        assert response.status_code == 200, response.read()
        events = sse_events(response.iter_lines())
        first = next(events)
        yield response, itertools.chain([first], events)
