"""RATE_LIMIT_RPM: requests per minute per API key (per client address when no keys are
configured), as a token bucket per key, refused with 429 and `Retry-After`.

With a shared store (Redis: the Compose and Swarm stacks) the buckets live there, so a key gets
its RPM across every worker and replica. Otherwise they live in the worker's memory and a key
may make up to RPM requests per minute on each worker. Runs after auth, so only verified keys
get a bucket.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from ..context import OPEN_OWNER, request_context
from ..errors import RateLimited
from ..http_errors import send_error

EXEMPT_PATHS = frozenset({"/health", "/ready", "/metrics"})
MAX_KEYS = 100_000  # beyond this many active keys the least recently seen bucket goes


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """One bucket of `capacity` tokens per key, refilled at `capacity` per `period` seconds.

    O(1) per request: buckets are kept in least-recently-used order, and a bucket untouched for
    a whole period is full again, i.e. no different from a missing one, so it is dropped
    from the old end as new requests come in. At most `max_keys` are kept."""

    def __init__(
        self,
        capacity: int,
        period: float = 60.0,
        *,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = float(capacity)
        self.period = period
        self.rate = capacity / period  # tokens per second
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> float:
        """Spend a token of `key`'s bucket: 0.0 when there was one, else the seconds until
        there will be (nothing is spent then)."""
        now = self._clock()
        self._evict_idle(now)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.capacity, now)
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(self.capacity, bucket.tokens + elapsed * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def _evict_idle(self, now: float) -> None:
        buckets = self._buckets
        while buckets:
            oldest = next(iter(buckets.values()))
            if now - oldest.updated < self.period:
                return
            buckets.popitem(last=False)


class RateLimitMiddleware:
    """`keyed_by_key`: API keys are configured (and checked by the auth middleware before
    this one), so each key has its own bucket; otherwise a presented key proves nothing and
    the client address is the key."""

    def __init__(
        self,
        app: ASGIApp,
        requests_per_minute: int,
        *,
        keyed_by_key: bool,
        shared: Callable[[str], Awaitable[float]] | None = None,
    ) -> None:
        """`shared`: the store's `take(key)` when buckets are shared by every replica."""
        self.app = app
        self.limit = requests_per_minute
        self.buckets = TokenBuckets(requests_per_minute)
        self.shared = shared
        self.keyed_by_key = keyed_by_key

    def _key(self, scope: Scope) -> str:
        context = request_context(scope)
        owner = context.owner  # the key's digest, set by the auth middleware
        if self.keyed_by_key and owner != OPEN_OWNER:
            return "key:" + owner
        # Set by the observe middleware (the forwarded address behind a trusted proxy).
        return "addr:" + (context.client or "unknown")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        key = self._key(scope)
        wait = await self.shared(key) if self.shared else self.buckets.take(key)
        if wait > 0:
            error = RateLimited(
                f"Rate limit reached: {self.limit} requests per minute; retry after "
                f"{math.ceil(wait)}s.",
                headers={"Retry-After": str(math.ceil(wait))},
            )
            await send_error(scope, receive, send, error)
            return
        await self.app(scope, receive, send)
