"""Wait for a condition, never for a fixed time: one poll loop, always with a deadline."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class _Poll:
    """One probe, its condition and its deadline; remembers the last value seen."""

    def __init__(
        self,
        probe: Callable[[], Any],
        timeout: float,
        until: Callable[[Any], object],
        what: str | None,
        retry_on: tuple[type[BaseException], ...],
    ) -> None:
        self.probe = probe
        self.timeout = timeout
        self.until = until
        self.what = what or _describe(probe)
        self.retry_on = retry_on
        self.deadline = time.monotonic() + timeout
        self.last: Any = None

    def done(self) -> bool:
        try:
            self.last = self.probe()
        except self.retry_on as exc:
            self.last = exc
            return False
        return bool(self.until(self.last))

    def check_deadline(self) -> None:
        if time.monotonic() >= self.deadline:
            raise AssertionError(
                f"still waiting after {self.timeout:g}s for {self.what}; last seen: {self.last!r}"
            )


def _describe(probe: Callable[[], Any]) -> str:
    name = getattr(probe, "__qualname__", repr(probe))
    if name.endswith("<lambda>"):
        try:
            return inspect.getsource(probe).strip()
        except (OSError, TypeError):
            pass
    return name


def poll_until(
    probe: Callable[[], T],
    timeout: float,
    interval: float = 0.05,
    *,
    until: Callable[[T], object] = bool,
    what: str | None = None,
    retry_on: tuple[type[BaseException], ...] = (),
) -> T:
    """Call `probe` every `interval` seconds until `until(value)` holds (by default: until the
    value is truthy) and return that value. After `timeout` seconds it fails with an
    AssertionError naming `what` was awaited and the last value seen. Exceptions listed in
    `retry_on` count as "not yet" (and are the last value seen)."""
    poll = _Poll(probe, timeout, until, what, retry_on)
    while not poll.done():
        poll.check_deadline()
        time.sleep(interval)
    return poll.last  # type: ignore[no-any-return]


async def async_poll_until(
    probe: Callable[[], T],
    timeout: float,  # noqa: ASYNC109 - the deadline is the point: it says what was awaited
    interval: float = 0.01,
    *,
    until: Callable[[T], object] = bool,
    what: str | None = None,
    retry_on: tuple[type[BaseException], ...] = (),
) -> T:
    """`poll_until` for a condition other tasks on this event loop bring about: it sleeps with
    `asyncio.sleep`, so they run meanwhile. `probe` may be a coroutine function."""
    poll = _Poll(probe, timeout, until, what, retry_on)
    while True:
        try:
            value = probe()
            poll.last = await value if inspect.isawaitable(value) else value
            if poll.until(poll.last):
                return poll.last  # type: ignore[no-any-return]
        except retry_on as exc:
            poll.last = exc
        poll.check_deadline()
        await asyncio.sleep(interval)
