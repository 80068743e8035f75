"""RESPONSE_STORE → a store: `redis://…` (or `rediss://…`) for Redis, `sqlite:///path`
(or a bare path) for SQLite."""

from __future__ import annotations

from .base import ResponseStore


def open_store(url: str, ttl: float, max_responses: int) -> ResponseStore:
    if url.startswith(("redis://", "rediss://", "unix://")):
        from .redis import RedisStore

        return RedisStore(url, ttl, max_responses)
    from .sqlite import SQLiteStore

    return SQLiteStore(url.removeprefix("sqlite://"), ttl, max_responses)
