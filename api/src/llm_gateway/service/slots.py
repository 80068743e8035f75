"""Per-worker backpressure: a few generations at once, a bounded queue, then 429."""

from __future__ import annotations

import asyncio
import math
import time

from ..errors import RateLimited


class Slots:
    def __init__(self, limit: int, max_queue: int, timeout: float) -> None:
        self.limit = limit
        self.max_queue = max_queue
        self.timeout = timeout
        self.running = 0
        self.waiting = 0
        self._semaphore = asyncio.Semaphore(limit)

    def _retry_after(self) -> dict[str, str]:
        return {"Retry-After": str(max(1, math.ceil(min(self.timeout, 60) / 4)))}

    async def acquire(self) -> float:
        """Wait for a slot; return seconds waited. Raise `RateLimited` when full."""
        if self.waiting == 0 and not self._semaphore.locked():
            await self._semaphore.acquire()
            self.running += 1
            return 0.0
        if self.waiting >= self.max_queue:
            raise RateLimited(
                "The server is at capacity; retry shortly.", headers=self._retry_after()
            )
        start = time.perf_counter()
        self.waiting += 1
        try:
            await asyncio.wait_for(self._semaphore.acquire(), self.timeout)
        except TimeoutError:
            raise RateLimited(
                f"Timed out after {self.timeout:g}s waiting for a free slot; retry shortly.",
                headers=self._retry_after(),
            ) from None
        finally:
            self.waiting -= 1
        self.running += 1
        return time.perf_counter() - start

    def release(self) -> None:
        self.running -= 1
        self._semaphore.release()
