"""The fault matrix's Redis rows, against a real redis-server (append-only file, as the stack
runs it) and the app in process: down at start, down mid-load, restarted mid-conversation,
slow (a paused process), out of memory. What the user gets each time: requests that need the
store (`store: true`, `previous_response_id`, GET) a 503 `store_unavailable` with
`Retry-After`, never a hang; chat keeps serving; the rate limit fails open; `/ready` says why;
nothing stored before the fault is lost once Redis is back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from ..support.app import AppClient, asgi_client, settings
from ..support.redis_server import RedisProcess
from ..support.reliability import CHAT, assert_error, chat_body

pytestmark = pytest.mark.server

RESPONSES = "/v1/responses"


@pytest.fixture
def redis() -> Iterator[RedisProcess]:
    server = RedisProcess()
    yield server
    server.resume()  # a test that failed while it was paused must not leave it stopped
    server.close()


@pytest.fixture
async def client(redis: RedisProcess) -> AsyncIterator[AppClient]:
    async with asgi_client(settings(response_store=redis.url, rate_limit_rpm=1000)) as c:
        yield c


async def store(client: httpx.AsyncClient, previous: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"model": "mock-model", "input": "hi", "store": True}
    if previous:
        body["previous_response_id"] = previous
    return await client.post(RESPONSES, json=body)


def assert_store_unavailable(response: httpx.Response, reason: str) -> None:
    error = assert_error(response, 503, "server_error", "store_unavailable")
    assert reason in error["message"]
    assert "127.0.0.1" not in error["message"]  # Redis's address is not the client's business


async def assert_chat_serves(client: httpx.AsyncClient) -> None:
    assert (await client.post(CHAT, json=chat_body(max_tokens=2))).status_code == 200
    streamed = await client.post(CHAT, json=chat_body(max_tokens=2, stream=True))
    assert streamed.status_code == 200 and streamed.text.rstrip().endswith("data: [DONE]")


async def ready_store(client: httpx.AsyncClient) -> str:
    ready = await client.get("/ready")
    assert ready.status_code == 200  # the models decide readiness, not the store
    return str(ready.json()["store"])


async def test_redis_down_at_start_then_up(redis: RedisProcess) -> None:
    redis.stop()
    async with asgi_client(settings(response_store=redis.url, rate_limit_rpm=1000)) as client:
        assert_store_unavailable(await store(client), "Redis cannot be reached")
        assert (await client.get(f"{RESPONSES}/resp_missing")).status_code == 503
        await assert_chat_serves(client)  # and the rate limit, kept in Redis, fails open
        assert await ready_store(client) == (
            "The response store is unavailable; retry shortly. (Redis cannot be reached)"
        )
        redis.start()
        first = await store(client)
        assert first.status_code == 200
        assert (await store(client, previous=first.json()["id"])).status_code == 200
        assert await ready_store(client) == "ok"


async def test_redis_down_mid_load_then_back_with_nothing_lost(
    redis: RedisProcess, client: AppClient
) -> None:
    before = [(await store(client)).json()["id"] for _ in range(3)]

    async def one(i: int) -> httpx.Response:
        if i % 2:
            return await client.post(CHAT, json=chat_body(max_tokens=2))
        return await store(client)

    async def load() -> list[httpx.Response]:
        return [r for batch in range(10) for r in await asyncio.gather(*map(one, range(8)))]

    task = asyncio.create_task(load())
    await asyncio.sleep(0)  # let the load begin before Redis goes away
    await asyncio.to_thread(redis.stop)
    answers = await task
    chats = [r for r in answers if r.request.url.path == CHAT]
    stores = [r for r in answers if r.request.url.path == RESPONSES]
    assert all(r.status_code == 200 for r in chats)
    assert {r.status_code for r in stores} <= {200, 503}
    assert_store_unavailable(await store(client), "Redis cannot be reached")
    await asyncio.to_thread(redis.start)
    for rid in before + [r.json()["id"] for r in stores if r.status_code == 200]:
        assert (await client.get(f"{RESPONSES}/{rid}")).status_code == 200, rid
    assert (await store(client)).status_code == 200


async def test_redis_restarted_mid_conversation(redis: RedisProcess, client: AppClient) -> None:
    first = await store(client)
    assert first.status_code == 200
    await asyncio.to_thread(redis.restart)  # SIGTERM: the append-only file is flushed
    second = await store(client, previous=first.json()["id"])
    assert second.status_code == 200, second.text
    assert (await client.get(f"{RESPONSES}/{first.json()['id']}")).status_code == 200


async def test_a_slow_redis_is_a_503_after_its_timeout_not_a_hang(
    redis: RedisProcess, client: AppClient
) -> None:
    kept = (await store(client)).json()["id"]
    redis.pause()
    try:
        # The client's socket timeout (2 s) ends the wait; chat never waits on the store.
        assert_store_unavailable(await store(client), "Redis did not answer in time")
        await assert_chat_serves(client)
    finally:
        redis.resume()
    assert (await client.get(f"{RESPONSES}/{kept}")).status_code == 200
    assert (await store(client)).status_code == 200


async def test_redis_out_of_memory_refuses_new_records_and_keeps_the_old(
    redis: RedisProcess, client: AppClient
) -> None:
    kept = (await store(client)).json()["id"]
    # Nothing may be evicted and no byte more may be used: every write is refused.
    redis.command("CONFIG", "SET", "maxmemory-policy", "noeviction")
    redis.command("CONFIG", "SET", "maxmemory", "1")
    assert_store_unavailable(await store(client), "out of memory")
    assert (await client.get(f"{RESPONSES}/{kept}")).status_code == 200  # reads still work
    await assert_chat_serves(client)
    redis.command("CONFIG", "SET", "maxmemory", "0")
    assert (await store(client, previous=kept)).status_code == 200


async def test_the_rate_limit_fails_open_while_redis_is_away(redis: RedisProcess) -> None:
    redis.stop()
    async with asgi_client(settings(response_store=redis.url, rate_limit_rpm=1)) as client:
        # One request a minute, yet all pass: the buckets live in Redis, and an unreachable
        # Redis must not stop all traffic (a warning is logged instead).
        for _ in range(3):
            assert (await client.post(CHAT, json=chat_body(max_tokens=2))).status_code == 200
        redis.start()
        assert (await client.post(CHAT, json=chat_body(max_tokens=2))).status_code == 200
        assert (await client.post(CHAT, json=chat_body(max_tokens=2))).status_code == 429
