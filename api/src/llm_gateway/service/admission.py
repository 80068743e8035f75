"""Per-worker admission: a few generations at once, a bounded queue, then 429 (not to be
confused with the llama engine's KV slots: this decides who may start, not where)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

from ..errors import RateLimited


class Admission:
    """`on_change(running, waiting)` is told every change (the metrics' gauges follow it)."""

    def __init__(
        self,
        limit: int,
        max_queue: int,
        timeout: float,
        on_change: Callable[[int, int], None] | None = None,
    ) -> None:
        self.limit = limit
        self.max_queue = max_queue
        self.timeout = timeout
        self.running = 0
        self.waiting = 0
        self._semaphore = asyncio.Semaphore(limit)
        self._on_change = on_change

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self.running, self.waiting)

    def _retry_after(self) -> dict[str, str]:
        return {"Retry-After": str(max(1, math.ceil(min(self.timeout, 60) / 4)))}

    async def acquire(self) -> float:
        """Wait for a slot; return seconds waited. Raise `RateLimited` when full."""
        if self.waiting == 0 and not self._semaphore.locked():
            await self._semaphore.acquire()
            self.running += 1
            self._changed()
            return 0.0
        if self.waiting >= self.max_queue:
            raise RateLimited(
                "The server is at capacity; retry shortly.", headers=self._retry_after()
            )
        start = time.perf_counter()
        self.waiting += 1
        self._changed()
        try:
            # Not asyncio.wait_for: on Python 3.11 it swallows a cancellation that arrives
            # as the permit is granted, so a client gone while queued would still be served.
            # Cancelled or timed out here, Semaphore.acquire hands a just-granted permit on.
            async with asyncio.timeout(self.timeout):
                await self._semaphore.acquire()
        except TimeoutError:
            raise RateLimited(
                f"Timed out after {self.timeout:g}s waiting for a free slot; retry shortly.",
                headers=self._retry_after(),
            ) from None
        finally:
            self.waiting -= 1
            self._changed()
        self.running += 1
        self._changed()
        return time.perf_counter() - start

    def release(self) -> None:
        self.running -= 1
        self._semaphore.release()
        self._changed()
