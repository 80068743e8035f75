"""The store under test, once for each kind: SQLite (a file of the test's own) and Redis (a real
redis-server for the module, flushed before each test)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from llm_gateway.store import ResponseStore, open_store

from ..support.redis_server import RedisProcess


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisProcess]:
    server = RedisProcess()
    yield server
    server.close()


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.server)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ResponseStore]:
    """At most 3 responses kept (and 3 of each kind per owner), kept an hour."""
    if request.param == "sqlite":
        url = str(tmp_path / "store.db")
    else:
        redis: RedisProcess = request.getfixturevalue("redis")
        url = redis.url
    s = open_store(url, ttl=3600, max_responses=3)
    if request.param == "redis":
        await s.client.flushdb()  # type: ignore[attr-defined]
    yield s
    await s.close()
