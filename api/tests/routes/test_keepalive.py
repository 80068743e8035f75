"""A stream that waits for its first token (a queue, a long prompt) is kept alive: after
STREAM_KEEPALIVE_SECONDS its headers go out and a keep-alive follows every as many seconds —
an SSE comment on the OpenAI routes, Anthropic's `ping` event on /v1/messages — then the
stream as usual. An error while it waits ends the stream with the API's error tail."""

from __future__ import annotations

import asyncio

from ..support.anthropic_sdk import named_events, sdk_event
from ..support.app import asgi_client, settings
from ..support.sse import sse_payloads

SLOW_START = {"mock_ttft_ms": 600}
USER = [{"role": "user", "content": "Hi"}]


async def test_a_slow_chat_stream_is_kept_alive_with_comments_then_streams() -> None:
    async with asgi_client(settings(stream_keepalive_seconds=0.1), backend=SLOW_START) as c:
        r = await c.post(
            "/v1/chat/completions",
            json={"model": "mock-model", "messages": USER, "stream": True, "max_tokens": 3},
        )
    assert r.status_code == 200
    assert r.text.startswith(": ping\n\n: ping\n\n")
    events = sse_payloads(r.text)
    assert events[-1] == "[DONE]"
    assert events[-2]["choices"][0]["finish_reason"] == "length"


async def test_a_fast_stream_sends_no_keepalive() -> None:
    async with asgi_client(settings(stream_keepalive_seconds=5)) as c:
        r = await c.post(
            "/v1/chat/completions", json={"model": "mock-model", "messages": USER, "stream": True}
        )
    assert ": ping" not in r.text


async def test_the_messages_stream_is_kept_alive_with_anthropic_pings() -> None:
    async with asgi_client(settings(stream_keepalive_seconds=0.1), backend=SLOW_START) as c:
        r = await c.post(
            "/v1/messages",
            json={"model": "mock-model", "messages": USER, "max_tokens": 3, "stream": True},
        )
    events = named_events(r.content)
    for name, payload in events:
        assert payload["type"] == name
        if name == "ping":  # documented by Anthropic; its SDKs skip it (no type of theirs)
            assert payload == {"type": "ping"}
        else:
            sdk_event(payload)
    names = [name for name, _ in events]
    assert names[:2] == ["ping", "ping"]
    assert names[names.index("message_start") :][-1] == "message_stop"


async def test_an_error_while_kept_alive_ends_the_stream_with_the_error_tail() -> None:
    slow = {"mock_ttft_ms": 2000}
    s = settings(stream_keepalive_seconds=0.1, max_concurrent=1, queue_timeout=0.5)
    async with asgi_client(s, backend=slow) as c:
        body = {"model": "mock-model", "messages": USER, "stream": True, "max_tokens": 2}
        first = asyncio.ensure_future(c.post("/v1/chat/completions", json=body))
        await asyncio.sleep(0.05)
        queued = await c.post("/v1/chat/completions", json=body)
        await first
    assert queued.status_code == 200  # the headers went out with the first keep-alive
    events = sse_payloads(queued.text)
    assert events[-1] == "[DONE]"
    assert events[-2]["error"]["type"] == "rate_limit_exceeded" or events[-2]["error"]["code"]
    assert "Timed out" in events[-2]["error"]["message"]
