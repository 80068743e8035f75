"""Upstreams that fail, on loopback: each failure becomes the specified OpenAI error (or an
error event once a stream has begun), failover takes the healthy upstream, and the server
keeps serving. Every wait is bounded (READ_TIMEOUT, the fakes' STEP)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from ...support.fake_upstream import (
    Exchange,
    answers,
    chunk,
    closed_port_url,
    fake_upstream,
    text_chunk,
)
from ...support.scrape import parse, value
from ...support.sse import sse_payloads
from .conftest import gateway

CHAT = "/v1/chat/completions"
BODY = {"model": "mock-model", "messages": [{"role": "user", "content": "Hello"}]}


async def chat(client: httpx.AsyncClient, **extra: Any) -> httpx.Response:
    return await client.post(CHAT, json={**BODY, **extra})


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def stream_error(response: httpx.Response) -> dict[str, Any]:
    """The error event a stream ended with (after at least one chunk), then [DONE]."""
    assert response.status_code == 200, response.text
    events = sse_payloads(response.text)
    assert events[-1] == "[DONE]"
    assert "error" in events[-2], events[-3:]
    assert any("choices" in e for e in events[:-2])  # it had begun
    error: dict[str, Any] = events[-2]["error"]
    return error


async def metrics(client: httpx.AsyncClient) -> Any:
    return parse((await client.get("/metrics")).text)


async def hangs(ex: Exchange) -> None:
    await ex.until_client_leaves()


def status(code: int, body: bytes | dict[str, Any], **kw: Any) -> Any:
    async def handler(ex: Exchange) -> None:
        await ex.respond(code, body, **kw)

    return handler


def stream_then(fault: str) -> Any:
    """Two text chunks, then `fault`."""

    async def handler(ex: Exchange) -> None:
        await ex.start_stream()
        await ex.event(text_chunk("Hello"))
        await ex.event(text_chunk(" world"))
        if fault == "cut":
            ex.cut()
        elif fault == "clean_end":  # the body ends properly, but before the stream did
            await ex.end_stream()
        elif fault == "not_json":
            await ex.event("{not json")
            await ex.end_stream()
        elif fault == "error_event":
            error = {"message": "The engine died.", "type": "server_error", "code": "engine_dead"}
            await ex.event({"error": error})
            await ex.end_stream()
        elif fault == "stall":
            await ex.until_client_leaves()

    return handler


async def test_refused_connections_are_a_502() -> None:
    async with gateway(closed_port_url()) as client:
        error = error_of(await chat(client), 502)
    assert (error["type"], error["code"]) == ("server_error", "upstream_unavailable")


async def test_an_upstream_that_never_answers_is_a_504() -> None:
    with fake_upstream(hangs) as up:
        async with gateway(up.base_url) as client:
            error = error_of(await chat(client), 504)
    assert (error["type"], error["code"]) == ("server_error", "upstream_timeout")


async def test_an_openai_error_keeps_its_status_and_fields() -> None:
    body = {
        "error": {
            "message": "Boom upstream.",
            "type": "server_error",
            "param": None,
            "code": "boom",
        }
    }
    with fake_upstream(status(500, body)) as up:
        async with gateway(up.base_url) as client:
            error = error_of(await chat(client), 500)
    assert error == body["error"]


async def test_a_rate_limit_keeps_its_retry_after() -> None:
    body = {
        "error": {
            "message": "Slow down.",
            "type": "rate_limit_exceeded",
            "code": "rate_limit_exceeded",
        }
    }
    with fake_upstream(status(429, body, headers={"retry-after": "7", "x-secret": "s"})) as up:
        async with gateway(up.base_url) as client:
            r = await chat(client)
    error = error_of(r, 429)
    assert (error["message"], error["code"]) == ("Slow down.", "rate_limit_exceeded")
    assert r.headers["retry-after"] == "7"
    assert "x-secret" not in r.headers


@pytest.mark.parametrize(
    ("body", "message", "type_"),
    [
        # vLLM before its errors were wrapped: the object at the top level, `code` a number.
        (
            {"object": "error", "message": "Bad prompt.", "type": "BadRequestError", "code": 400},
            "Bad prompt.",
            "BadRequestError",
        ),
        # Ollama's native shape: a bare string.
        ({"error": "model 'x' not found"}, "model 'x' not found", "invalid_request_error"),
    ],
)
async def test_other_servers_error_shapes_keep_their_status_and_message(
    body: dict[str, Any], message: str, type_: str
) -> None:
    with fake_upstream(status(400, body)) as up:
        async with gateway(up.base_url) as client:
            error = error_of(await chat(client), 400)
    assert (error["message"], error["type"], error["code"]) == (message, type_, None)


async def test_the_gateways_own_key_refused_is_a_502_not_the_clients_401() -> None:
    body = {
        "error": {
            "message": "Incorrect API key",
            "type": "invalid_request_error",
            "code": "invalid_api_key",
        }
    }
    with fake_upstream(status(401, body)) as up:
        async with gateway(up.base_url, upstream_api_key="sk-upstream") as client:
            error = error_of(await chat(client), 502)
    assert error["code"] == "upstream_unauthorized"
    assert up.requests[0].headers["authorization"] == "Bearer sk-upstream"


@pytest.mark.parametrize(
    "handler",
    [
        status(502, b"<html>Bad Gateway</html>", content_type="text/html"),
        status(500, b'{"error": {"message": "Bo'),
        status(200, b"<html>Welcome to nginx</html>", content_type="text/html"),
        status(302, b"", headers={"location": "/login"}),
        stream_then("not_json"),
        status(
            200, b"not gzip", content_type="text/event-stream", headers={"content-encoding": "gzip"}
        ),
    ],
    ids=[
        "error-status-html",
        "error-status-truncated-json",
        "ok-html",
        "redirect",
        "event-not-json",
        "broken-gzip",
    ],
)
async def test_what_is_not_the_openai_protocol_is_a_502_bad_response(handler: Any) -> None:
    with fake_upstream(handler) as up:
        async with gateway(up.base_url) as client:
            error = error_of(await chat(client), 502)
            assert (await client.get("/health")).status_code == 200
    assert (error["type"], error["code"]) == ("server_error", "upstream_bad_response")
    assert "upstream" in error["message"] and "Traceback" not in error["message"]


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("cut", "upstream_bad_response"),
        ("clean_end", "upstream_bad_response"),
        ("not_json", "upstream_bad_response"),
        ("error_event", "engine_dead"),
        ("stall", "upstream_timeout"),
    ],
)
async def test_a_stream_that_breaks_mid_way_ends_with_an_error_event(fault: str, code: str) -> None:
    with fake_upstream(stream_then(fault)) as up:
        async with gateway(up.base_url) as client:
            streamed = await chat(client, stream=True)
            folded = await chat(client)
    error = stream_error(streamed)
    assert error["code"] == code
    assert folded.status_code in {500, 502, 504}
    assert folded.json()["error"]["code"] == code


async def test_failover_takes_the_healthy_upstream_and_skips_the_failed_one_for_a_cooldown() -> (
    None
):
    refused = closed_port_url()
    refused_label = refused.removeprefix("http://").removesuffix("/v1")
    with fake_upstream(answers("Hi")) as up:
        async with gateway(refused, up.base_url, upstream_cooldown=600) as client:
            for _ in range(4):
                r = await chat(client)
                assert r.status_code == 200, r.text
                assert r.json()["choices"][0]["message"]["content"] == "Hi"
            seen = await metrics(client)
    assert len(up.requests) == 4
    upstream = "llm_gateway_upstream_"
    # Tried once, then skipped for its cool-down.
    assert value(seen, upstream + "requests_total", upstream=refused_label) == 1
    assert value(seen, upstream + "errors_total", upstream=refused_label, kind="connect") == 1
    assert value(seen, upstream + "up", upstream=refused_label) == 0
    assert value(seen, upstream + "requests_total", upstream=up.label) == 4
    assert value(seen, upstream + "up", upstream=up.label) == 1
    assert value(seen, upstream + "latency_seconds_count", upstream=up.label) == 4
    assert value(seen, upstream + "requests_in_flight", upstream=up.label) == 0


@pytest.mark.parametrize("first", [hangs, "slow_first_byte"], ids=["hangs", "slow-first-byte"])
async def test_an_upstream_that_times_out_before_its_first_byte_fails_over(first: Any) -> None:
    async def slow_first_byte(ex: Exchange) -> None:
        await ex.wait_gate()  # released only after the test
        await answers("late")(ex)

    with (
        fake_upstream(slow_first_byte if first == "slow_first_byte" else first) as slow,
        fake_upstream(answers("Fast")) as fast,
    ):
        async with gateway(slow.base_url, fast.base_url, upstream_cooldown=600) as client:
            replies = [await chat(client) for _ in range(3)]
            seen = await metrics(client)
        slow.gate.set()
    assert [r.json()["choices"][0]["message"]["content"] for r in replies] == ["Fast"] * 3
    assert len(slow.requests) == 1
    assert (
        value(seen, "llm_gateway_upstream_errors_total", upstream=slow.label, kind="timeout") == 1
    )


async def test_nothing_is_retried_once_the_answer_has_begun() -> None:
    with fake_upstream(stream_then("cut")) as broken, fake_upstream(answers("Other")) as other:
        async with gateway(broken.base_url, other.base_url, upstream_cooldown=600) as client:
            # Both upstreams are idle: the first request goes to one of them, in turn.
            replies = [await chat(client, stream=True) for _ in range(2)]
    assert len(broken.requests) == 1 and len(other.requests) == 1
    errors = [r for r in replies if "error" in r.text]
    assert len(errors) == 1
    assert stream_error(errors[0])["code"] == "upstream_bad_response"


async def test_when_every_upstream_fails_each_is_tried_once() -> None:
    with fake_upstream(hangs) as a, fake_upstream(hangs) as b:
        async with gateway(a.base_url, b.base_url) as client:
            assert error_of(await chat(client), 504)["code"] == "upstream_timeout"
    assert (len(a.requests), len(b.requests)) == (1, 1)
    async with gateway(closed_port_url(), closed_port_url()) as client:
        assert error_of(await chat(client), 502)["code"] == "upstream_unavailable"


async def test_the_server_keeps_serving_after_upstream_faults() -> None:
    calls = 0

    async def flaky(ex: Exchange) -> None:
        nonlocal calls
        calls += 1
        if calls % 2:
            ex.cut()  # closed before any answer
        else:
            await answers("Back")(ex)

    with fake_upstream(flaky) as up:
        async with gateway(up.base_url, upstream_cooldown=0) as client:
            first = await chat(client)
            second = await chat(client)
            assert (await client.get("/health")).status_code == 200
    assert error_of(first, 502)["code"] == "upstream_unavailable"
    assert second.json()["choices"][0]["message"]["content"] == "Back"


async def test_a_client_gone_closes_the_upstream_request() -> None:
    """In process: closing the backend's stream (what a disconnect does) closes the upstream
    connection at once. The real-socket version is in test_passthrough_server.py."""

    async def streams_until_left(ex: Exchange) -> None:
        await ex.start_stream()
        await ex.event(chunk([{"index": 0, "delta": {"role": "assistant", "content": "Hi"}}]))
        await ex.until_client_leaves()

    from llm_gateway.backends import GenerationRequest, Message
    from llm_gateway.backends.loader import create_backend

    from ...support.backends import one_choice

    with fake_upstream(streams_until_left) as up:
        backend = create_backend("openai", {"upstream_base_url": up.base_url})
        await backend.load()
        try:
            request = GenerationRequest(messages=(Message("user", "Hi"),), model="m")
            stream = one_choice(backend, request)
            first = await anext(stream)
            assert first.text == "Hi"
            await stream.aclose()  # type: ignore[attr-defined]
            assert await asyncio.to_thread(up.client_left.wait, 10)
        finally:
            await backend.close()
