"""Admission: a few generations at once, a bounded FIFO queue, 429s, and exact accounting when
waiters time out or are cancelled (the semaphore never loses or gains a permit)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import pytest

from llm_gateway.backends import GenerationRequest, Message, PromptGroup
from llm_gateway.backends.mock import MockBackend, MockSettings
from llm_gateway.errors import RateLimited
from llm_gateway.service import Call, Generation, ServedModel
from llm_gateway.service.admission import Admission

from ..support.polling import async_poll_until


class Recorder:
    """Every (running, waiting) the slots report, checked against the bounds as it comes."""

    def __init__(self, limit: int, max_queue: int) -> None:
        self.limit = limit
        self.max_queue = max_queue
        self.seen: list[tuple[int, int]] = []

    def __call__(self, running: int, waiting: int) -> None:
        assert 0 <= running <= self.limit and 0 <= waiting <= self.max_queue
        self.seen.append((running, waiting))


def slots(limit: int = 1, max_queue: int = 2, timeout: float = 30.0) -> Admission:
    return Admission(limit, max_queue, timeout, on_change=Recorder(limit, max_queue))


async def until(condition: Callable[[], object]) -> None:
    """Let the other tasks run until `condition()` holds."""
    await async_poll_until(condition, 5, 0.001)


def assert_idle(s: Admission) -> None:
    """Nothing running or waiting, and every permit back: `limit` acquire at once."""
    assert (s.running, s.waiting) == (0, 0)
    assert s._semaphore._value == s.limit  # type: ignore[attr-defined]
    assert not s._semaphore.locked()


async def test_a_free_slot_is_taken_without_waiting() -> None:
    s = slots(limit=2)
    assert await s.acquire() == 0.0
    assert await s.acquire() == 0.0
    assert (s.running, s.waiting) == (2, 0)
    s.release()
    s.release()
    assert_idle(s)
    assert s._on_change.seen == [(1, 0), (2, 0), (1, 0), (0, 0)]  # type: ignore[union-attr]


async def test_a_full_queue_is_refused_with_429_and_retry_after() -> None:
    s = slots(limit=1, max_queue=1, timeout=8)
    await s.acquire()
    waiter = asyncio.ensure_future(s.acquire())
    await until(lambda: s.waiting == 1)
    with pytest.raises(RateLimited) as refused:
        await s.acquire()
    assert refused.value.status == 429
    assert (refused.value.type, refused.value.code) == ("rate_limit_exceeded",) * 2
    assert refused.value.headers == {"Retry-After": "2"}
    assert (s.running, s.waiting) == (1, 1)
    s.release()
    assert await waiter >= 0
    s.release()
    assert_idle(s)


async def test_no_queue_at_all_refuses_at_once() -> None:
    s = slots(limit=1, max_queue=0)
    await s.acquire()
    with pytest.raises(RateLimited):
        await s.acquire()
    s.release()
    assert_idle(s)


async def test_a_waiter_that_times_out_leaves_the_queue_and_holds_no_permit() -> None:
    s = slots(limit=1, max_queue=2, timeout=0.05)
    await s.acquire()
    with pytest.raises(RateLimited, match=r"Timed out after 0\.05s"):
        await s.acquire()
    assert (s.running, s.waiting) == (1, 0)
    s.release()
    assert_idle(s)
    assert await s.acquire() == 0.0  # straight in: no phantom waiter ahead of it
    s.release()


async def test_a_cancelled_waiter_leaves_the_queue_and_the_next_one_gets_the_slot() -> None:
    s = slots(limit=1, max_queue=2)
    await s.acquire()
    first = asyncio.ensure_future(s.acquire())
    second = asyncio.ensure_future(s.acquire())
    await until(lambda: s.waiting == 2)
    first.cancel()
    await until(first.done)
    assert first.cancelled() and (s.running, s.waiting) == (1, 1)
    s.release()
    assert await second >= 0
    assert (s.running, s.waiting) == (1, 0)
    s.release()
    assert_idle(s)


async def test_a_waiter_cancelled_as_its_slot_frees_is_cancelled_and_passes_the_slot_on() -> None:
    """The permit is granted and the waiter cancelled in the same loop turn (its client went
    away just then). The waiter must end cancelled, not go on to run a generation for nobody
    (asyncio.wait_for on Python 3.11 swallowed that cancellation), and the permit must go to
    the next waiter."""
    s = slots(limit=1, max_queue=2)
    await s.acquire()
    doomed = asyncio.ensure_future(s.acquire())
    behind = asyncio.ensure_future(s.acquire())
    await until(lambda: s.waiting == 2)
    s.release()
    doomed.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await doomed
    assert doomed.cancelled()
    assert await behind >= 0
    assert (s.running, s.waiting) == (1, 0)
    s.release()
    assert_idle(s)


async def test_a_waiter_cancelled_as_its_slot_frees_with_no_one_behind_frees_the_slot() -> None:
    s = slots(limit=1, max_queue=2)
    await s.acquire()
    doomed = asyncio.ensure_future(s.acquire())
    await until(lambda: s.waiting == 1)
    s.release()
    doomed.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await doomed
    assert doomed.cancelled()
    assert_idle(s)


async def test_waiters_are_served_in_arrival_order_and_newcomers_do_not_jump_the_queue() -> None:
    s = slots(limit=1, max_queue=3)
    await s.acquire()
    order: list[str] = []

    async def take(name: str) -> None:
        await s.acquire()
        order.append(name)

    waiters = [asyncio.ensure_future(take(n)) for n in ("a", "b")]
    await until(lambda: s.waiting == 2)
    s.release()  # the slot is promised to "a"; a newcomer must queue behind "b"
    late = asyncio.ensure_future(take("late"))
    await until(lambda: order == ["a"] and s.waiting == 2)
    for finished in range(1, 3):  # "a" then "b" finish
        s.release()
        await until(lambda n=finished: len(order) > n)
    await asyncio.gather(*waiters, late)
    assert order == ["a", "b", "late"]
    s.release()
    assert_idle(s)


async def test_many_waiters_cancelled_and_timed_out_at_random_leave_exact_accounting() -> None:
    s = slots(limit=2, max_queue=6, timeout=0.2)
    holders = [await s.acquire() for _ in range(2)]
    assert holders == [0.0, 0.0]
    tasks = [asyncio.ensure_future(s.acquire()) for _ in range(6)]
    await until(lambda: s.waiting == 6)
    for task in tasks[::3]:
        task.cancel()
    s.release()  # one waiter gets in
    results = await asyncio.gather(*tasks, return_exceptions=True)
    granted = sum(isinstance(r, float) for r in results)
    assert granted == 1
    assert all(isinstance(r, float | RateLimited | asyncio.CancelledError) for r in results), (
        results
    )
    assert (s.running, s.waiting) == (2, 0)
    s.release()
    s.release()
    assert_idle(s)


def generation(s: Admission, **overrides: Any) -> Generation:
    backend = MockBackend(MockSettings(**overrides))
    request = GenerationRequest(messages=(Message(role="user", content="hi"),))
    served = ServedModel("mock-model", backend, s, s, 0, "me")
    return Generation(Call(served, (PromptGroup(request),)))


async def test_a_generation_cancelled_right_after_taking_its_slot_releases_it() -> None:
    s = slots(limit=1, max_queue=1)
    gen = generation(s, mock_ttft_ms=10_000)
    start = asyncio.ensure_future(gen.start())
    await until(lambda: s.running == 1)  # holding the slot, waiting for the first token
    start.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await start
    assert start.cancelled()
    assert_idle(s)


async def test_a_generation_cancelled_while_queued_never_holds_a_slot() -> None:
    s = slots(limit=1, max_queue=1)
    await s.acquire()
    gen = generation(s)
    start = asyncio.ensure_future(gen.start())
    await until(lambda: s.waiting == 1)
    s.release()
    start.cancel()  # in the same turn as the slot is handed over
    with contextlib.suppress(asyncio.CancelledError):
        await start
    assert start.cancelled()
    await gen.aclose()
    assert_idle(s)
