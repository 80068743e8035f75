"""Errors before and after a stream starts, from a user's own backend class."""

from __future__ import annotations

from ..support.app import asgi_client, settings
from ..support.spec import SpecValidator
from ..support.sse import sse_payloads

BODY = {"model": "mock-model", "messages": [{"role": "user", "content": "hi"}]}


async def test_error_after_stream_start_is_one_error_event_then_done(spec: SpecValidator) -> None:
    s = settings(model_backend="tests.support.faulty_backends:FailsMidStream")
    async with asgi_client(s) as client:
        r = await client.post("/v1/chat/completions", json={**BODY, "stream": True})
    assert r.status_code == 200
    chunks = sse_payloads(r.text)
    assert chunks[-1] == "[DONE]"
    error = chunks[-2]
    spec.validate("ErrorResponse", error)
    assert error["error"]["type"] == "server_error"
    assert "secret" not in r.text
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:-2])
    assert text == "Hello world"


async def test_error_without_streaming_is_a_500_without_internals(spec: SpecValidator) -> None:
    s = settings(model_backend="tests.support.faulty_backends:FailsMidStream")
    async with asgi_client(s) as client:
        r = await client.post("/v1/chat/completions", json=BODY)
        assert r.status_code == 500
        spec.validate("ErrorResponse", r.json())
        assert "secret" not in r.text
        # the slot was released: the next request is served too
        assert (await client.get("/health")).status_code == 200
        slots = client.app.state.registry.get("mock-model").admission
        assert slots.running == 0


async def test_typed_error_before_output_is_a_plain_http_error_even_when_streaming() -> None:
    s = settings(model_backend="tests.support.faulty_backends:RefusesLongPrompts")
    async with asgi_client(s) as client:
        for stream in (False, True):
            r = await client.post("/v1/chat/completions", json={**BODY, "stream": stream})
            assert r.status_code == 400
            assert r.json()["error"]["code"] == "context_length_exceeded"


async def test_a_class_that_is_not_a_backend_is_refused_at_start() -> None:
    import pytest

    from llm_gateway.app import create_app

    with pytest.raises(ValueError, match="not a subclass"):
        create_app(settings(model_backend="tests.support.faulty_backends:BODY_DOES_NOT_EXIST"))
