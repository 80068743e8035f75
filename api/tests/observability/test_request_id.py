"""X-Request-ID: the client's when sane, a fresh one otherwise, on every kind of response."""

from __future__ import annotations

import re

import pytest
from starlette.datastructures import Headers

from llm_gateway.observability.request_id import request_id_from

from ..support.app import asgi_client, settings

CHAT = {"model": "mock-model", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}
GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize("given", ["abc", "A.b_c:d-9", "x" * 128, "0"])
async def test_a_valid_client_id_is_echoed(given: str) -> None:
    async with asgi_client() as client:
        r = await client.post("/v1/chat/completions", json=CHAT, headers={"X-Request-ID": given})
    assert r.status_code == 200
    assert r.headers["x-request-id"] == given


@pytest.mark.parametrize(
    "given", [b"x" * 129, b"has space", b"semi;colon", b"slash/y", "ünï".encode(), b""]
)
async def test_an_invalid_client_id_is_replaced(given: bytes) -> None:
    async with asgi_client() as client:
        r = await client.get("/health", headers={b"X-Request-ID": given})
    assert r.status_code == 200
    assert GENERATED.fullmatch(r.headers["x-request-id"])


async def test_every_response_has_its_own_id_streams_and_errors_included() -> None:
    async with asgi_client(settings(max_body_bytes=4096)) as client:
        responses = [
            await client.post("/v1/chat/completions", json={**CHAT, "stream": True}),
            await client.post("/v1/chat/completions", content=b"{nope"),
            await client.post("/v1/chat/completions", json={**CHAT, "model": "nope"}),
            await client.get("/no/such/path"),
            await client.post("/v1/chat/completions", content=b"x" * 5000),
            await client.get("/metrics"),
        ]
    assert [r.status_code for r in responses] == [200, 400, 404, 404, 413, 200]
    assert responses[0].headers["content-type"].startswith("text/event-stream")
    ids = [r.headers["x-request-id"] for r in responses]
    assert all(GENERATED.fullmatch(i) for i in ids)
    assert len(set(ids)) == len(ids)


async def test_a_stream_echoes_the_client_id() -> None:
    async with asgi_client() as client:
        r = await client.post(
            "/v1/chat/completions", json={**CHAT, "stream": True}, headers={"x-request-id": "s-1"}
        )
    assert r.headers["x-request-id"] == "s-1"
    assert r.headers.get_list("x-request-id") == ["s-1"]


def test_only_the_first_header_counts() -> None:
    headers = Headers(raw=[(b"x-request-id", b"bad id"), (b"x-request-id", b"good")])
    assert GENERATED.fullmatch(request_id_from(headers))
    both = Headers(raw=[(b"x-request-id", b"good"), (b"x-request-id", b"other")])
    assert request_id_from(both) == "good"
