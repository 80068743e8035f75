"""Backpressure on a real gunicorn worker: one slot, a queue of two, then 429s; it recovers,
answers /health throughout, keeps its memory, and times out queued requests."""

from __future__ import annotations

import threading
from collections import Counter

import httpx
import pytest

from ..support.procfs import rss_kb
from ..support.reliability import (
    CLOSE,
    TIMEOUT,
    assert_completed,
    assert_error,
    in_parallel,
    open_stream,
    post_chat,
    slot_gauges,
    wait_for_gauges,
)
from ..support.server import ServerProcess, server_fixture
from ..support.server_env import admission, mock_pace

pytestmark = pytest.mark.server

PARALLEL = 10
ADMITTED = 3  # MAX_CONCURRENT=1 running + MAX_QUEUE=2 waiting
MEMORY_ROUNDS = 4
RSS_GROWTH_LIMIT_KB = 20 * 1024


overloaded = server_fixture(
    {
        "WORKERS": "1",
        **admission(1, waiting=2, queue_timeout=30),
        **mock_pace(30, 30, ttft_ms=100),
    },
    doc="One worker, one slot, a queue of two that waits longer than any generation; each "
    "generation takes about a second (100 ms to the first token, then 30 tokens of 30 ms).",
)


def overload_round(server: ServerProcess, count: int = PARALLEL) -> Counter[int]:
    """`count` requests at once, half of them streaming; every answer must be well-formed.
    Returns the statuses seen."""

    def call(i: int) -> httpx.Response:
        return post_chat(server, stream=i % 2 == 1)

    responses = in_parallel(count, call)
    for i, response in enumerate(responses):
        if response.status_code == 429:
            error = assert_error(response, 429, "rate_limit_exceeded", "rate_limit_exceeded")
            assert "capacity" in error["message"]
        else:
            assert_completed(response, stream=i % 2 == 1)
    return Counter(r.status_code for r in responses)


def test_ten_at_once_get_three_answers_and_seven_429s_then_it_recovers(
    overloaded: ServerProcess,
) -> None:
    statuses = overload_round(overloaded)
    assert statuses == {200: ADMITTED, 429: PARALLEL - ADMITTED}
    wait_for_gauges(overloaded, running=0, waiting=0)
    assert_completed(post_chat(overloaded), stream=False)
    assert slot_gauges(overloaded) == (0, 0)


def test_health_answers_while_every_slot_and_the_queue_are_taken(
    overloaded: ServerProcess,
) -> None:
    # Three streams hold the slot and the queue while /health is asked.
    streams: list[httpx.Response] = []

    def hold(i: int) -> httpx.Response:
        return post_chat(overloaded, stream=True)

    holder = threading.Thread(target=lambda: streams.extend(in_parallel(ADMITTED, hold)))
    holder.start()
    try:
        wait_for_gauges(overloaded, running=1, waiting=2)
        health = httpx.get(overloaded.base_url + "/health", headers=CLOSE, timeout=TIMEOUT)
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        assert slot_gauges(overloaded) == (1, 2)  # still full: /health did not wait for a slot
        refused = post_chat(overloaded)
        assert_error(refused, 429, "rate_limit_exceeded", "rate_limit_exceeded")
    finally:
        holder.join(60)
    assert len(streams) == ADMITTED
    for response in streams:
        assert_completed(response, stream=True)
    wait_for_gauges(overloaded, running=0, waiting=0)


def test_worker_memory_stays_flat_over_overload_rounds(overloaded: ServerProcess) -> None:
    (pid,) = overloaded.worker_pids()
    overload_round(overloaded)
    wait_for_gauges(overloaded, running=0, waiting=0)
    after_first = rss_kb(pid)
    for _ in range(MEMORY_ROUNDS):
        statuses = overload_round(overloaded, count=3 * PARALLEL)
        assert statuses[200] >= ADMITTED and set(statuses) <= {200, 429}
        wait_for_gauges(overloaded, running=0, waiting=0)
    after_all = rss_kb(pid)
    assert overloaded.worker_pids() == [pid]  # the same worker, never restarted
    assert after_all - after_first <= RSS_GROWTH_LIMIT_KB, (after_first, after_all)


impatient = server_fixture(
    {"WORKERS": "1", **admission(1, waiting=4, queue_timeout=1), **mock_pace(50, 60)},
    doc="One slot, a queue, and a 1 s queue timeout; generations take about 3 s.",
)


def test_a_queued_request_gets_429_after_the_queue_timeout(impatient: ServerProcess) -> None:
    server = impatient
    with open_stream(server) as (_, events):  # the slot is taken
        queued = post_chat(server)
        error = assert_error(queued, 429, "rate_limit_exceeded", "rate_limit_exceeded")
        # Queued, not refused at the door: only a waiter that timed out is told this.
        assert "Timed out after 1s waiting for a free slot" in error["message"]
        # The timed-out request left the queue; the stream still holds the slot.
        assert slot_gauges(server) == (1, 0)
        assert list(events)[-1] == "[DONE]"
    wait_for_gauges(server, running=0, waiting=0)
    # The slot is free again: the next request does not queue at all.
    response = post_chat(server)
    assert_completed(response, stream=False)
    line = server.request_line(response.headers["x-request-id"])
    assert line["queue_ms"] == 0.0
    wait_for_gauges(server, running=0, waiting=0)
