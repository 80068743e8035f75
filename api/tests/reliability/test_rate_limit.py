"""RATE_LIMIT_RPM: a token bucket per API key (per client address without keys), 429 with
Retry-After in the OpenAI error shape, bounded memory."""

from __future__ import annotations

import httpx
from structlog.testing import capture_logs

from llm_gateway.middleware.rate_limit import TokenBuckets

from ..support.app import asgi_client, settings
from ..support.reliability import CHAT, assert_error, chat_body
from ..support.scrape import parse, value


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_capacity_then_one_token_per_refill_interval() -> None:
    clock = Clock()
    buckets = TokenBuckets(3, clock=clock)  # 3 a minute: a token every 20 s
    assert [buckets.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("k") == 20.0
    clock.now += 5
    assert buckets.take("k") == 15.0  # a refused request spends nothing
    clock.now += 15
    assert buckets.take("k") == 0.0
    assert buckets.take("k") == 20.0
    assert buckets.take("other") == 0.0  # keys are independent


def test_a_bucket_never_holds_more_than_its_capacity() -> None:
    clock = Clock()
    buckets = TokenBuckets(2, clock=clock)
    buckets.take("k")
    clock.now += 3600
    assert [buckets.take("k") for _ in range(3)] == [0.0, 0.0, 30.0]


def test_idle_keys_are_dropped_and_the_number_of_keys_is_capped() -> None:
    clock = Clock()
    buckets = TokenBuckets(10, clock=clock, max_keys=100)
    for i in range(50):
        buckets.take(f"k{i}")
    assert len(buckets) == 50
    clock.now += 30
    buckets.take("k0")  # seen again: stays
    clock.now += 31  # the other 49 have been idle a whole minute: full, so forgotten
    buckets.take("new")
    assert len(buckets) == 2
    for i in range(500):
        buckets.take(f"flood{i}")
    assert len(buckets) == 100


async def test_off_by_default() -> None:
    async with asgi_client() as client:
        for _ in range(5):
            assert (await client.post(CHAT, json=chat_body(max_tokens=2))).status_code == 200


async def test_per_client_address_without_keys() -> None:
    async with asgi_client(settings(rate_limit_rpm=2)) as client:
        for _ in range(2):
            assert (await client.post(CHAT, json=chat_body(max_tokens=2))).status_code == 200
        # A made-up key is no way around it: without configured keys it proves nothing.
        refused = await client.post(
            CHAT, json=chat_body(max_tokens=2), headers={"authorization": "Bearer fresh"}
        )
        assert_error(refused, 429, "rate_limit_exceeded", "rate_limit_exceeded")
        assert refused.headers["retry-after"] == "30"
        assert "2 requests per minute" in refused.json()["error"]["message"]
        assert refused.headers["x-request-id"]  # observed like any other response
        # Health checks and metrics are never limited.
        assert (await client.get("/health")).status_code == 200
        assert (await client.get("/ready")).status_code == 200
        metrics = await client.get("/metrics")
        assert metrics.status_code == 200
        samples = parse(metrics.text)
        labels = {"route": CHAT, "method": "POST", "status": "429"}
        assert value(samples, "llm_gateway_requests_total", **labels) == 1
        errors = value(samples, "llm_gateway_request_errors_total", type="rate_limit_exceeded")
        assert errors == 1


async def test_per_api_key_when_keys_are_configured() -> None:
    async with asgi_client(settings(rate_limit_rpm=1, api_keys="key-a,key-b")) as client:

        async def post(key: str) -> httpx.Response:
            return await client.post(
                CHAT, json=chat_body(max_tokens=2), headers={"authorization": f"Bearer {key}"}
            )

        assert (await post("key-a")).status_code == 200
        assert_error(await post("key-a"), 429, "rate_limit_exceeded", "rate_limit_exceeded")
        assert (await post("key-b")).status_code == 200  # its own bucket
        # Keys are checked first: a wrong key is a 401, whatever the buckets hold.
        denied = await post("wrong")
        assert_error(denied, 401, "invalid_request_error", "invalid_api_key", retry_after=False)


async def test_each_client_address_has_its_own_bucket() -> None:
    async with asgi_client(settings(rate_limit_rpm=1)) as app_client:

        async def post(peer: str, forwarded: str | None = None) -> httpx.Response:
            transport = httpx.ASGITransport(app=app_client.app, client=(peer, 40000))
            headers = {"x-forwarded-for": forwarded} if forwarded else {}
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                return await c.post(CHAT, json=chat_body(max_tokens=2), headers=headers)

        assert (await post("198.51.100.1")).status_code == 200
        assert (await post("198.51.100.2")).status_code == 200  # its own bucket
        assert (await post("198.51.100.1")).status_code == 429
        # No peer is trusted by default: a forwarded address changes nothing.
        assert (await post("198.51.100.1", forwarded="203.0.113.9")).status_code == 429


async def test_behind_a_trusted_proxy_each_forwarded_address_has_its_own_bucket() -> None:
    proxy = "172.18.0.5"
    config = settings(rate_limit_rpm=1, trusted_proxies="172.16.0.0/12")
    async with asgi_client(config) as app_client:

        async def post(peer: str, forwarded: str | None = None) -> httpx.Response:
            transport = httpx.ASGITransport(app=app_client.app, client=(peer, 40000))
            headers = {"x-forwarded-for": forwarded} if forwarded else {}
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                return await c.post(CHAT, json=chat_body(max_tokens=2), headers=headers)

        # Entered after create_app (which configures structlog), so the capture wins.
        with capture_logs() as logs:
            assert (await post(proxy, "203.0.113.1")).status_code == 200
            assert (await post(proxy, "203.0.113.2")).status_code == 200
            assert (await post(proxy, "203.0.113.1")).status_code == 429
            # A spoofed header from a peer that is not a trusted proxy: keyed by that peer.
            assert (await post("198.51.100.7", "203.0.113.3")).status_code == 200
            assert (await post("198.51.100.7", "203.0.113.4")).status_code == 429
    # The canonical log line names the client.
    clients = [log["client"] for log in logs if log["event"] == "request"]
    assert clients == ["203.0.113.1", "203.0.113.2", "203.0.113.1", *["198.51.100.7"] * 2]
