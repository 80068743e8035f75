"""The shared store of the Compose and Swarm stacks: Redis, reached by every replica.

Layout (all keys expire after the TTL): `llmgw:resp:<owner>:<id>` holds a record,
`llmgw:item:<owner>:<id>` each item it introduced (for `item_reference`), and the sorted set
`llmgw:responses` orders records by creation so the oldest go beyond `max_responses`.

Objects (conversations, stored chat completions): `llmgw:obj:<kind>:<owner>:<id>` holds the
record, the sorted set `llmgw:idx:<kind>:<owner>` orders an owner's objects by creation (for
lists and the per-owner cap), and a conversation's items are the list
`llmgw:citems:<owner>:<id>`, appended with one RPUSH (atomic: concurrent appends lose nothing).
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
import structlog
from redis import asyncio as aioredis
from redis.exceptions import BusyLoadingError, OutOfMemoryError, RedisError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..spans import child_span
from .base import Change, Item, KeyUsage, Kind, ResponseStore, StoredResponse, StoreUnavailable

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


def reason(exc: BaseException) -> str:
    """What went wrong, for the 503 and `/ready`, without Redis's address."""
    if isinstance(exc, OutOfMemoryError) or "OOM" in str(exc):
        return "Redis is out of memory (maxmemory)"
    if isinstance(exc, BusyLoadingError):
        return "Redis is loading its data"
    if isinstance(exc, RedisTimeoutError | TimeoutError):
        return "Redis did not answer in time"
    if isinstance(exc, RedisConnectionError | OSError):
        return "Redis cannot be reached"
    return f"Redis error ({type(exc).__name__})"


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


def _object_key(owner: str, kind: Kind, object_id: str) -> str:
    return f"{PREFIX}obj:{kind}:{owner}:{object_id}"


def _index_key(owner: str, kind: Kind) -> str:
    return f"{PREFIX}idx:{kind}:{owner}"


def _items_key(owner: str, conversation_id: str) -> str:
    return f"{PREFIX}citems:{owner}:{conversation_id}"


# Append to a conversation only while it exists, and keep both keys alive as long.
APPEND_ITEMS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local ttl = tonumber(ARGV[1])
redis.call('RPUSH', KEYS[2], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
return 1
"""


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
            raise StoreUnavailable(reason(exc)) from exc

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

    # --- objects ------------------------------------------------------------------------

    @property
    def _ttl(self) -> int:
        return max(1, int(self.ttl))

    async def put_object(
        self, owner: str, kind: Kind, object_id: str, record: dict[str, Any], items: list[Item]
    ) -> None:
        now = time.time()
        index = _index_key(owner, kind)

        async def work() -> list[Any]:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.set(_object_key(owner, kind, object_id), orjson.dumps(record), ex=self._ttl)
                if items:
                    pipe.rpush(_items_key(owner, object_id), *(orjson.dumps(i) for i in items))
                    pipe.expire(_items_key(owner, object_id), self._ttl)
                pipe.zadd(index, {object_id: now})
                pipe.expire(index, self._ttl)
                pipe.zrange(index, 0, -self.max_responses - 1)
                results: list[Any] = await pipe.execute()
            return results

        results = await self._run(work, "put_object")
        for doomed in results[-1]:
            await self.delete_object(owner, kind, doomed.decode())

    async def get_object(self, owner: str, kind: Kind, object_id: str) -> dict[str, Any] | None:
        raw = await self._run(
            lambda: self.client.get(_object_key(owner, kind, object_id)), "get_object"
        )
        return None if raw is None else dict(orjson.loads(raw))

    async def update_object(
        self, owner: str, kind: Kind, object_id: str, change: Change
    ) -> dict[str, Any] | None:
        key = _object_key(owner, kind, object_id)
        updated: list[dict[str, Any] | None] = [None]

        async def transaction(pipe: Any) -> None:
            raw = await pipe.get(key)
            updated[0] = None if raw is None else change(orjson.loads(raw))
            pipe.multi()
            if updated[0] is not None:
                pipe.set(key, orjson.dumps(updated[0]), ex=self._ttl)
                pipe.expire(_index_key(owner, kind), self._ttl)  # listed as long as it lives

        # WATCH/MULTI: retried when another client changed the record in between.
        await self._run(lambda: self.client.transaction(transaction, key), "update_object")
        return updated[0]

    async def delete_object(self, owner: str, kind: Kind, object_id: str) -> bool:
        async def work() -> int:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.delete(_object_key(owner, kind, object_id))
                pipe.zrem(_index_key(owner, kind), object_id)
                if kind is Kind.CONVERSATION:
                    pipe.delete(_items_key(owner, object_id))
                results: list[Any] = await pipe.execute()
            return int(results[0])

        return bool(await self._run(work, "delete_object"))

    async def list_objects(self, owner: str, kind: Kind) -> list[dict[str, Any]]:
        index = _index_key(owner, kind)

        async def work() -> list[dict[str, Any]]:
            ids = [i.decode() for i in await self.client.zrange(index, 0, -1)]
            if not ids:
                return []
            values = await self.client.mget([_object_key(owner, kind, i) for i in ids])
            expired = [i for i, v in zip(ids, values, strict=True) if v is None]
            if expired:
                await self.client.zrem(index, *expired)
            return [orjson.loads(v) for v in values if v is not None]

        return await self._run(work, "list_objects")

    async def append_items(self, owner: str, conversation_id: str, items: list[Item]) -> bool:
        if not items:
            return await self.get_object(owner, Kind.CONVERSATION, conversation_id) is not None
        script = self.client.register_script(APPEND_ITEMS)
        keys = [
            _object_key(owner, Kind.CONVERSATION, conversation_id),
            _items_key(owner, conversation_id),
        ]
        args: list[bytes | int] = [self._ttl, *(orjson.dumps(i) for i in items)]
        return bool(await self._run(lambda: script(keys=keys, args=args), "append_items"))

    async def conversation_items(self, owner: str, conversation_id: str) -> list[Item] | None:
        async def work() -> list[Item] | None:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.exists(_object_key(owner, Kind.CONVERSATION, conversation_id))
                pipe.lrange(_items_key(owner, conversation_id), 0, -1)
                exists, raw = await pipe.execute()
            return [orjson.loads(r) for r in raw] if exists else None

        return await self._run(work, "conversation_items")

    async def delete_item(self, owner: str, conversation_id: str, item_id: str) -> bool:
        key = _items_key(owner, conversation_id)
        removed = [False]

        async def transaction(pipe: Any) -> None:
            raw = await pipe.lrange(key, 0, -1)
            doomed = [r for r in raw if orjson.loads(r).get("id") == item_id]
            removed[0] = bool(doomed)
            pipe.multi()
            for r in doomed:
                pipe.lrem(key, 1, r)

        if await self.get_object(owner, Kind.CONVERSATION, conversation_id) is None:
            return False
        await self._run(lambda: self.client.transaction(transaction, key), "delete_item")
        return removed[0]

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
