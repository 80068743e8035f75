"""The shared store of the Compose and Swarm stacks: Redis, reached by every replica.

Layout (all keys expire after the TTL): `llmgw:resp:<owner>:<id>` holds a record,
`llmgw:item:<owner>:<id>` each item it introduced (for `item_reference`), and the sorted set
`llmgw:responses` orders records by creation so the oldest go beyond `max_responses`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
import structlog
from redis import asyncio as aioredis
from redis.exceptions import RedisError

from ..spans import child_span
from .base import Item, KeyUsage, ResponseStore, StoredResponse, StoreUnavailable

T = TypeVar("T")
PREFIX = "llmgw:"
INDEX = PREFIX + "responses"
SPAN_ATTRIBUTES = {"db.system.name": "redis"}

log = structlog.get_logger("llm_gateway.store")

# One token bucket per key, refilled continuously, on Redis's own clock (every replica agrees):
# returns 0 when a token was taken, else the seconds until one will be there.
TAKE_TOKEN = """
local capacity, rate, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(b[1]) or capacity
local updated = tonumber(b[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - updated) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('EXPIRE', KEYS[1], ttl)
return tostring(wait)
"""


USAGE_TTL = 40 * 86_400  # a day's usage is kept 40 days
MINUTE_TTL = 120


def _usage_key(name: str, day: str) -> str:
    return f"{PREFIX}usage:{name}:{day}"


def _usage(raw: dict[bytes, bytes]) -> KeyUsage:
    return KeyUsage(
        int(raw.get(b"requests", 0)),
        int(raw.get(b"prompt_tokens", 0)),
        int(raw.get(b"completion_tokens", 0)),
    )


def _record_key(owner: str, response_id: str) -> str:
    return f"{PREFIX}resp:{owner}:{response_id}"


def _item_key(owner: str, item_id: str) -> str:
    return f"{PREFIX}item:{owner}:{item_id}"


class RedisStore(ResponseStore):
    def __init__(self, url: str, ttl: float, max_responses: int) -> None:
        super().__init__(ttl, max_responses)
        self.url = url
        # Short timeouts: a Redis that is down must fail requests fast (503), not hang them.
        self.client: aioredis.Redis = aioredis.Redis.from_url(
            url, socket_connect_timeout=1.0, socket_timeout=2.0, retry_on_timeout=False
        )

    async def _run(self, work: Callable[[], Awaitable[T]], operation: str) -> T:
        try:
            with child_span(f"redis {operation}", attributes=SPAN_ATTRIBUTES):
                return await work()
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(type(exc).__name__) from exc

    async def save(self, owner: str, record: StoredResponse) -> None:
        ttl = max(1, int(self.ttl))
        now = time.time()

        async def work() -> None:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.set(_record_key(owner, record.id), orjson.dumps(record.to_json()), ex=ttl)
                for item in record.items:
                    pipe.set(_item_key(owner, item["id"]), orjson.dumps(item), ex=ttl)
                pipe.zadd(INDEX, {f"{owner}:{record.id}": now})
                pipe.zremrangebyscore(INDEX, "-inf", now - self.ttl)
                pipe.zrange(INDEX, 0, -self.max_responses - 1)
                results = await pipe.execute()
            await self._evict(results[-1])

        await self._run(work, "save")

    async def _evict(self, members: list[bytes]) -> None:
        """Drop the records beyond `max_responses` (oldest first), with their items."""
        for member in members:
            owner, _, response_id = member.decode().partition(":")
            await self.delete(owner, response_id)

    async def get(self, owner: str, response_id: str) -> StoredResponse | None:
        raw = await self._run(lambda: self.client.get(_record_key(owner, response_id)), "get")
        return None if raw is None else StoredResponse.from_json(orjson.loads(raw))

    async def items(self, owner: str, item_ids: list[str]) -> dict[str, Item]:
        if not item_ids:
            return {}
        keys = [_item_key(owner, i) for i in item_ids]
        values: list[Any] = await self._run(lambda: self.client.mget(keys), "items")
        return {i: orjson.loads(v) for i, v in zip(item_ids, values, strict=True) if v}

    async def delete(self, owner: str, response_id: str) -> bool:
        record = await self.get(owner, response_id)
        if record is None:
            return False
        keys = [_record_key(owner, response_id), *(_item_key(owner, i["id"]) for i in record.items)]

        async def work() -> None:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.delete(*keys)
                pipe.zrem(INDEX, f"{owner}:{response_id}")
                await pipe.execute()

        await self._run(work, "delete")
        return True

    async def quota_state(self, name: str, day: str, minute: int | None) -> tuple[int, KeyUsage]:
        async def work() -> tuple[int, KeyUsage]:
            async with self.client.pipeline(transaction=False) as pipe:
                if minute is not None:
                    counter = f"{PREFIX}rpm:{name}:{minute}"
                    pipe.incr(counter)
                    pipe.expire(counter, MINUTE_TTL)
                pipe.hgetall(_usage_key(name, day))
                results = await pipe.execute()
            return (int(results[0]) if minute is not None else 0), _usage(results[-1])

        return await self._run(work, "quota_state")

    async def add_usage(self, name: str, day: str, prompt: int, completion: int) -> None:
        key = _usage_key(name, day)

        async def work() -> None:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hincrby(key, "requests", 1)
                pipe.hincrby(key, "prompt_tokens", prompt)
                pipe.hincrby(key, "completion_tokens", completion)
                pipe.expire(key, USAGE_TTL)
                await pipe.execute()

        await self._run(work, "add_usage")

    async def usage(self, name: str, day: str) -> KeyUsage:
        raw: Any = await self._run(lambda: self.client.hgetall(_usage_key(name, day)), "usage")  # type: ignore[arg-type,return-value]
        return _usage(raw)

    async def ping(self) -> None:
        async def work() -> None:
            await self.client.ping()  # type: ignore[misc]

        await self._run(work, "ping")

    def shared_rate_limit(
        self, capacity: int, period: float
    ) -> Callable[[str], Awaitable[float]] | None:
        script = self.client.register_script(TAKE_TOKEN)
        rate = capacity / period
        ttl = max(1, math.ceil(period))
        warned = 0.0

        async def take(key: str) -> float:
            nonlocal warned
            try:
                wait = await script(keys=[f"{PREFIX}bucket:{key}"], args=[capacity, rate, ttl])
            except (RedisError, OSError):
                # The limit fails open: an unreachable Redis must not stop all traffic.
                if time.monotonic() - warned > 60:
                    warned = time.monotonic()
                    log.warning("rate_limit_store_unavailable", store="redis")
                return 0.0
            return float(wait)

        return take

    async def close(self) -> None:
        await self.client.aclose()
