"""Both stores behave the same: records and items scoped by owner, expiry, a size cap, delete;
Redis keeps everything across a restart (append-only file) and shares rate-limit buckets."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm_gateway.store import ResponseStore, StoredResponse, StoreUnavailable, open_store

from ..support.polling import async_poll_until
from ..support.redis_server import RedisProcess


def record(rid: str) -> StoredResponse:
    return StoredResponse(
        id=rid,
        response={"id": rid, "output": [{"type": "message", "id": f"msg_{rid}", "content": []}]},
        input_items=[{"type": "message", "id": f"in_{rid}", "role": "user", "content": []}],
        conversation=[{"id": f"in_{rid}"}, {"id": f"msg_{rid}"}],
    )


async def test_records_and_items_belong_to_their_owner(store: ResponseStore) -> None:
    await store.save("alice", record("r1"))
    got = await store.get("alice", "r1")
    assert got is not None and got.to_json() == record("r1").to_json()
    assert await store.get("bob", "r1") is None
    items = await store.items("alice", ["in_r1", "msg_r1", "nope"])
    assert sorted(items) == ["in_r1", "msg_r1"]
    assert await store.items("bob", ["in_r1"]) == {}
    assert not await store.delete("bob", "r1")
    assert await store.delete("alice", "r1")
    assert await store.get("alice", "r1") is None
    assert await store.items("alice", ["msg_r1"]) == {}


async def test_beyond_the_cap_the_oldest_go(store: ResponseStore) -> None:
    for i in range(5):
        await store.save("alice", record(f"r{i}"))
    kept = [rid for rid in ("r0", "r1", "r2", "r3", "r4") if await store.get("alice", rid)]
    assert kept == ["r2", "r3", "r4"]
    assert await store.items("alice", ["msg_r0"]) == {}


async def test_records_expire(store: ResponseStore) -> None:
    store.ttl = 1
    await store.save("alice", record("short"))
    assert await store.get("alice", "short") is not None

    await async_poll_until(
        lambda: store.get("alice", "short"),
        10,
        0.1,
        until=lambda record: record is None,
        what="the record to expire",
    )
    assert await store.items("alice", ["msg_short"]) == {}


@pytest.mark.server
async def test_redis_keeps_everything_across_a_restart(redis: RedisProcess) -> None:
    s = open_store(redis.url, ttl=3600, max_responses=100)
    await s.save("alice", record("durable"))
    await s.close()
    redis.restart()
    s = open_store(redis.url, ttl=3600, max_responses=100)
    assert (await s.get("alice", "durable")) is not None
    await s.close()


@pytest.mark.server
async def test_an_unreachable_redis_is_a_503_not_a_hang() -> None:
    s = open_store("redis://127.0.0.1:9/0", ttl=60, max_responses=10)
    with pytest.raises(StoreUnavailable) as info:
        await s.get("alice", "r1")
    assert info.value.status == 503
    assert info.value.headers["Retry-After"]
    with pytest.raises(StoreUnavailable):
        await s.ping()
    await s.close()


@pytest.mark.server
async def test_redis_rate_limit_buckets_are_shared(redis: RedisProcess) -> None:
    """Two stores (two workers or replicas) draw from the same bucket."""
    a = open_store(redis.url, ttl=60, max_responses=10)
    b = open_store(redis.url, ttl=60, max_responses=10)
    take_a, take_b = a.shared_rate_limit(3, 60.0), b.shared_rate_limit(3, 60.0)
    assert take_a is not None and take_b is not None
    waits = [await take_a("k"), await take_b("k"), await take_a("k"), await take_b("k")]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert 0 < waits[3] <= 20  # one token every 20 s
    assert await take_b("other-key") == 0.0
    await a.close()
    await b.close()


async def test_sqlite_has_no_shared_buckets(tmp_path: Path) -> None:
    s = open_store(str(tmp_path / "r.db"), ttl=60, max_responses=10)
    assert s.shared_rate_limit(3, 60.0) is None
    await s.close()


async def test_usage_and_minute_counters_per_key_name(store: ResponseStore) -> None:
    await store.add_usage("alice", "2026-12-06", 10, 5)
    await store.add_usage("alice", "2026-12-06", 1, 2)
    await store.add_usage("alice", "2026-12-07", 100, 100)
    used = await store.usage("alice", "2026-12-06")
    assert (used.requests, used.prompt_tokens, used.completion_tokens) == (2, 11, 7)
    assert used.total_tokens == 18
    assert (await store.usage("bob", "2026-12-06")).requests == 0
    assert (await store.quota_state("alice", "2026-12-06", None))[0] == 0
    counts = [(await store.quota_state("alice", "2026-12-06", 500))[0] for _ in range(3)]
    assert counts == [1, 2, 3]
    assert (await store.quota_state("bob", "2026-12-06", 500))[0] == 1
    count, used = await store.quota_state("alice", "2026-12-06", 501)  # a new minute
    assert count == 1 and used.total_tokens == 18
