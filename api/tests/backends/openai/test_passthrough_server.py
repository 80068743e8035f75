"""A real gateway (gunicorn, MODEL_BACKEND=openai) in front of real upstreams on loopback:
another instance of this server with the mock backend, and scripted fakes. Its answers equal
the upstream's own, streams arrive as the upstream produces them, a client that leaves
closes the upstream request, and failures give the specified errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from ...support import sdk_checks
from ...support.fake_upstream import (
    Exchange,
    chunk,
    closed_port_url,
    fake_upstream,
    text_chunk,
    usage_chunk,
)
from ...support.polling import poll_until
from ...support.scrape import parse, value
from ...support.server import ServerProcess, running_server, server_fixture
from ...support.spec import SpecValidator

pytestmark = pytest.mark.server

MODEL = "mock-model"
MESSAGES = [{"role": "user", "content": "Tell me about the gateway."}]
TIMEOUT = httpx.Timeout(30.0, connect=10.0)  # only so that nothing can hang the run


def gateway_env(*urls: str, **env: str) -> dict[str, str]:
    return {
        "MODEL_BACKEND": "openai",
        "UPSTREAM_BASE_URL": ",".join(urls),
        "UPSTREAM_READ_TIMEOUT": "2",
        **env,
    }


gateway = server_fixture(
    lambda mock_server: gateway_env(mock_server.base_url + "/v1"),
    doc="The gateway in front of the session's mock server (two workers).",
)


def scrape(server: ServerProcess) -> Any:
    return parse(httpx.get(server.base_url + "/metrics", timeout=TIMEOUT).text)


def test_responses_and_embeddings_work_through_the_gateway(
    gateway: ServerProcess, mock_server: ServerProcess, spec: SpecValidator
) -> None:
    """The Responses API rides on the upstream's chat; embeddings are forwarded (base64 as
    the SDK asks by default, and float with `dimensions`)."""
    through, direct = sdk_checks.sdk(gateway.base_url), sdk_checks.sdk(mock_server.base_url)
    answer = through.responses.create(model=MODEL, input="Hello", max_output_tokens=16)
    spec.validate("Response", answer.model_dump(exclude_unset=True, by_alias=True))
    expected = direct.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hello"}], max_tokens=16
    )
    assert answer.output_text == expected.choices[0].message.content
    follow_up = through.responses.create(
        model=MODEL, input="Again", previous_response_id=answer.id, max_output_tokens=16
    )
    assert follow_up.status in {"completed", "incomplete"}
    for kwargs in ({}, {"encoding_format": "float", "dimensions": 16}):
        mine = through.embeddings.create(model=MODEL, input=["one", "two"], **kwargs)  # type: ignore[arg-type]
        theirs = direct.embeddings.create(model=MODEL, input=["one", "two"], **kwargs)  # type: ignore[arg-type]
        for got, want in zip(mine.data, theirs.data, strict=True):
            assert got.embedding == pytest.approx(want.embedding, abs=1e-6)
        assert mine.usage == theirs.usage


def test_answers_through_the_gateway_equal_the_upstreams_own(
    gateway: ServerProcess, mock_server: ServerProcess, spec: SpecValidator
) -> None:
    through, direct = sdk_checks.sdk(gateway.base_url), sdk_checks.sdk(mock_server.base_url)
    requests: list[dict[str, Any]] = [
        {"seed": 5},
        {"seed": 5, "n": 3, "max_tokens": 7},
        {"seed": 9, "logprobs": True, "top_logprobs": 2, "stop": ["."]},
        {"model": "gpt-3.5-turbo", "temperature": 0},
    ]
    for extra in requests:
        request = {"model": MODEL, "messages": MESSAGES, **extra}
        mine, theirs = (
            sdk_checks.chat(through, spec, **request),
            sdk_checks.chat(direct, spec, **request),
        )
        for key in ("choices", "usage", "model"):
            assert mine[key] == theirs[key], (extra, key)
        mine_streamed = sdk_checks.chat_stream(through, spec, **request)
        theirs_streamed = sdk_checks.chat_stream(direct, spec, **request)
        assert mine_streamed == theirs_streamed, extra
        assert [c["content"] for c in mine_streamed["choices"]] == sdk_checks.text_of(mine)
    prompt = {"model": MODEL, "prompt": ["Once", "Twice"], "n": 2, "max_tokens": 6}
    for extra in ({}, {"logprobs": 2, "echo": True, "seed": 1}):
        mine = sdk_checks.completion(through, spec, **prompt, **extra)
        theirs = sdk_checks.completion(direct, spec, **prompt, **extra)
        assert (mine["choices"], mine["usage"]) == (theirs["choices"], theirs["usage"]), extra
        assert sdk_checks.completion_stream(through, spec, **prompt, **extra) == (
            sdk_checks.completion_stream(direct, spec, **prompt, **extra)
        )


def test_the_sdk_checks_every_backend_passes(gateway: ServerProcess, spec: SpecValidator) -> None:
    sdk_checks.assert_every_shape(sdk_checks.sdk(gateway.base_url), spec, MODEL)


def test_tool_calls_pass_the_sdk_and_the_spec(spec: SpecValidator) -> None:
    async def calls_a_tool(ex: Exchange) -> None:
        await ex.start_stream()
        head = {"index": 0, "id": "call_9", "type": "function", "function": {"name": "lookup"}}
        await ex.event(chunk([{"index": 0, "delta": {"role": "assistant", "tool_calls": [head]}}]))
        for piece in ('{"q"', ': "tea"}'):
            call = {"index": 0, "function": {"arguments": piece}}
            await ex.event(chunk([{"index": 0, "delta": {"tool_calls": [call]}}]))
        await ex.event(chunk([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]))
        await ex.event(usage_chunk(12, 6))
        await ex.event("[DONE]")
        await ex.end_stream()

    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    with fake_upstream(calls_a_tool) as up, running_server(**gateway_env(up.base_url)) as gw:
        client = sdk_checks.sdk(gw.base_url)
        request = {"model": MODEL, "messages": MESSAGES, "tools": [tool], "tool_choice": "required"}
        folded = sdk_checks.chat(client, spec, **request)
        streamed = sdk_checks.chat_stream(client, spec, **request)
    (choice,) = folded["choices"]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"][0]["function"] == {
        "name": "lookup",
        "arguments": '{"q": "tea"}',
    }
    assert streamed["choices"][0]["tool_calls"] == {
        0: {"name": "lookup", "arguments": '{"q": "tea"}'}
    }
    assert (
        streamed["usage"]
        == folded["usage"]
        == {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18}
    )
    assert all(b["tool_choice"] == "required" and b["tools"] == [tool] for b in up.bodies)


def first_content_event(lines: Iterator[str]) -> dict[str, Any]:
    for line in lines:
        if line.startswith("data: {"):
            event: dict[str, Any] = json.loads(line[6:])
            if event["choices"] and event["choices"][0]["delta"].get("content"):
                return event
    raise AssertionError("the stream ended without content")


def test_a_stream_arrives_while_the_upstream_is_still_generating() -> None:
    """The fake sends one token, then waits for the test: the client has that token through
    the gateway while the upstream has not produced the next one."""

    async def one_token_then_wait(ex: Exchange) -> None:
        await ex.start_stream()
        await ex.event(text_chunk("First"))
        await ex.wait_gate()
        await ex.event(text_chunk(" second", finish="stop"))
        await ex.event(usage_chunk(3, 2))
        await ex.event("[DONE]")
        await ex.end_stream()

    with fake_upstream(one_token_then_wait) as up, running_server(**gateway_env(up.base_url)) as gw:
        body = {"model": MODEL, "messages": MESSAGES, "stream": True}
        url = gw.base_url + "/v1/chat/completions"
        with httpx.stream("POST", url, json=body, timeout=TIMEOUT) as r:
            lines = r.iter_lines()
            first = first_content_event(lines)
            assert first["choices"][0]["delta"]["content"] == "First"
            assert not up.gate.is_set()  # the upstream is still holding its second token
            up.gate.set()
            rest = [json.loads(line[6:]) for line in lines if line.startswith("data: {")]
    assert next(c["choices"][0]["delta"].get("content") for c in rest if c["choices"]) == " second"


def test_a_client_that_leaves_closes_the_upstream_request() -> None:
    """Observed at the upstream: a fake that streams and waits sees its connection closed;
    a mock server sees its client leave and frees its slot."""

    async def streams_until_left(ex: Exchange) -> None:
        await ex.start_stream()
        await ex.event(text_chunk("Hello"))
        await ex.until_client_leaves()

    body = {"model": MODEL, "messages": MESSAGES, "stream": True}
    with fake_upstream(streams_until_left) as up, running_server(**gateway_env(up.base_url)) as gw:
        with httpx.stream(
            "POST", gw.base_url + "/v1/chat/completions", json=body, timeout=TIMEOUT
        ) as r:
            lines = r.iter_lines()
            first_content_event(lines)
            assert not up.client_left.is_set()
        # Leaving the block closes the client's connection to the gateway.
        assert up.client_left.wait(10), "the upstream connection stayed open"

    # A real upstream: the mock generating slowly (a token every 200 ms, 64 tokens).
    with (
        running_server(WORKERS="1", MOCK_TOKEN_MS="200") as slow,
        running_server(**gateway_env(slow.base_url + "/v1")) as gw,
    ):
        with httpx.stream(
            "POST", gw.base_url + "/v1/chat/completions", json=body, timeout=TIMEOUT
        ) as r:
            lines = r.iter_lines()  # kept: dropping it would close the connection now
            first_content_event(lines)
            # The first token is here, and the upstream is still generating the rest.
            assert value(scrape(slow), "llm_gateway_num_requests_running", model=MODEL) == 1
            assert value(scrape(slow), "llm_gateway_client_disconnects_total", model=MODEL) == 0
        poll_until(
            lambda: value(scrape(slow), "llm_gateway_client_disconnects_total", model=MODEL) == 1,
            10,
            what="the upstream saw its client leave",
        )
        assert value(scrape(slow), "llm_gateway_num_requests_running", model=MODEL) == 0


def test_failover_and_faults_through_a_real_gateway(mock_server: ServerProcess) -> None:
    async def cut_after_a_token(ex: Exchange) -> None:
        await ex.start_stream()
        await ex.event(text_chunk("Half"))
        ex.cut()

    refused = closed_port_url()
    with running_server(
        **gateway_env(refused, mock_server.base_url + "/v1", UPSTREAM_COOLDOWN="600")
    ) as gw:
        client = sdk_checks.sdk(gw.base_url)
        for _ in range(3):
            reply = client.chat.completions.create(model=MODEL, messages=MESSAGES)  # type: ignore[arg-type]
            assert reply.choices[0].message.content
        seen = scrape(gw)
    label = refused.removeprefix("http://").removesuffix("/v1")
    assert value(seen, "llm_gateway_upstream_errors_total", upstream=label, kind="connect") == 1
    assert value(seen, "llm_gateway_upstream_up", upstream=label) == 0

    with fake_upstream(cut_after_a_token) as up, running_server(**gateway_env(up.base_url)) as gw:
        client = sdk_checks.sdk(gw.base_url)
        stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)  # type: ignore[arg-type]
        with pytest.raises(openai.APIError) as info:
            for _ in stream:
                pass
        assert "invalid response" in str(info.value)
        with pytest.raises(openai.InternalServerError) as bad_gateway:
            client.chat.completions.create(model=MODEL, messages=MESSAGES)  # type: ignore[arg-type]
        assert bad_gateway.value.status_code == 502
        assert bad_gateway.value.code == "upstream_bad_response"
        assert httpx.get(gw.base_url + "/health", timeout=TIMEOUT).status_code == 200
