"""RESPONSE_STORE → a store: `redis://…` (or `rediss://…`) for Redis, `sqlite:///path`
(or a bare path) for SQLite, created here: a path that cannot be is refused at start
(`SettingsError`). Redis is only reached on use: it may come up after the api, and while it
is away only the requests that need it fail."""

from __future__ import annotations

from .base import ResponseStore


def open_store(url: str, ttl: float, max_responses: int) -> ResponseStore:
    if url.startswith(("redis://", "rediss://", "unix://")):
        from .redis import RedisStore

        return RedisStore(url, ttl, max_responses)
    from .sqlite import SQLiteStore

    store = SQLiteStore(url.removeprefix("sqlite://"), ttl, max_responses)
    store.open_now()
    return store
