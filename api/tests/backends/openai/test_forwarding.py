"""MODEL_BACKEND=openai in process, in front of scripted upstreams on loopback: what is sent
upstream, and how the upstream's stream becomes this server's answer."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ...support.fake_upstream import (
    Exchange,
    answers,
    chunk,
    fake_upstream,
    text_chunk,
    usage_chunk,
)
from ...support.spec import SpecValidator
from ...support.sse import sse_payloads
from .conftest import gateway

CHAT = "/v1/chat/completions"
MESSAGES = [{"role": "user", "content": "Hello"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        "strict": True,
    },
}


async def chat(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post(CHAT, json={"model": "mock-model", "messages": MESSAGES, **body})


async def test_every_sampling_field_is_forwarded_and_none_reported_ignored() -> None:
    with fake_upstream(answers("{}")) as up:
        async with gateway(up.base_url, upstream_model="served-upstream") as client:
            r = await chat(
                client,
                messages=[
                    {"role": "developer", "content": "Be brief."},
                    {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": "get_weather", "arguments": "{}"},
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
                ],
                max_completion_tokens=20,
                temperature=0.5,
                top_p=0.9,
                seed=42,
                stop=["\n\n", "END"],
                presence_penalty=0.1,
                frequency_penalty=-0.2,
                logit_bias={"50256": -100},
                logprobs=True,
                top_logprobs=2,
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True},
                },
                tools=[WEATHER],
                tool_choice={"type": "function", "function": {"name": "get_weather"}},
            )
    assert r.status_code == 200, r.text
    assert "x-ignored-params" not in r.headers
    (body,) = up.bodies
    assert up.requests[0].path == "/v1/chat/completions"
    assert body == {
        "model": "served-upstream",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "content": "sunny", "tool_call_id": "call_1"},
        ],
        "max_tokens": 20,
        "temperature": 0.5,
        "top_p": 0.9,
        "seed": 42,
        "stop": ["\n\n", "END"],
        "presence_penalty": 0.1,
        "frequency_penalty": -0.2,
        "logit_bias": {"50256": -100.0},
        "logprobs": True,
        "top_logprobs": 2,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True},
        },
        "tools": [WEATHER],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    }


async def test_the_requested_model_id_is_named_upstream_and_unset_fields_are_not_sent() -> None:
    with fake_upstream(answers("Hi")) as up:
        async with gateway(up.base_url) as client:
            r = await chat(client, model="gpt-3.5-turbo", parallel_tool_calls=False)
    assert r.status_code == 200, r.text
    assert r.headers["x-ignored-params"] == "parallel_tool_calls"
    assert up.bodies == [
        {
            "model": "gpt-3.5-turbo",
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": MESSAGES,
        }
    ]


async def test_the_answer_is_ours_with_the_upstreams_text_and_usage(spec: SpecValidator) -> None:
    with fake_upstream(answers("Hello", " there", prompt_tokens=11)) as up:
        async with gateway(up.base_url) as client:
            folded = (await chat(client)).json()
            r = await chat(client, stream=True, stream_options={"include_usage": True})
    spec.validate("CreateChatCompletionResponse", folded)
    assert folded["id"].startswith("chatcmpl-") and folded["id"] != "chatcmpl-upstream"
    assert folded["model"] == "mock-model"
    assert folded["choices"][0]["message"]["content"] == "Hello there"
    assert folded["choices"][0]["finish_reason"] == "stop"
    assert folded["usage"] == {"prompt_tokens": 11, "completion_tokens": 2, "total_tokens": 13}
    events = sse_payloads(r.text)
    assert events[-1] == "[DONE]"
    for event in events[:-1]:
        spec.validate("CreateChatCompletionStreamResponse", event)
    assert (
        "".join(c["choices"][0]["delta"].get("content") or "" for c in events[:-1] if c["choices"])
        == "Hello there"
    )
    assert events[-2]["usage"] == folded["usage"]


async def test_the_upstreams_cached_prompt_tokens_are_passed_on() -> None:
    """What the upstream's prefix cache saved reaches the client (and the Messages API's
    `cache_read_input_tokens`, apart from the `input_tokens` evaluated)."""
    with fake_upstream(answers("Hi", prompt_tokens=11, cached_tokens=8)) as up:
        async with gateway(up.base_url) as client:
            folded = (await chat(client)).json()
            message = await client.post(
                "/v1/messages",
                json={"model": "mock-model", "max_tokens": 8, "messages": MESSAGES},
            )
    assert folded["usage"]["prompt_tokens_details"] == {"cached_tokens": 8}
    assert folded["usage"]["prompt_tokens"] == 11
    usage = message.json()["usage"]
    assert (usage["input_tokens"], usage["cache_read_input_tokens"]) == (3, 8)


def tool_call_stream() -> Any:
    async def handler(ex: Exchange) -> None:
        await ex.start_stream()
        call = {"index": 0, "id": "call_up", "type": "function"}
        await ex.event(
            chunk(
                [
                    {
                        "index": 0,
                        "delta": {
                            "role": "assistant",
                            "tool_calls": [{**call, "function": {"name": "get_weather"}}],
                        },
                    }
                ]
            )
        )
        for piece in ('{"city": ', '"Paris"}'):
            delta = {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
            await ex.event(chunk([{"index": 0, "delta": delta}]))
        await ex.event(chunk([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]))
        await ex.event(usage_chunk(20, 9))
        await ex.event("[DONE]")
        await ex.end_stream()

    return handler


async def test_tool_calls_come_through_as_tool_calls(spec: SpecValidator) -> None:
    with fake_upstream(tool_call_stream()) as up:
        async with gateway(up.base_url) as client:
            folded = (await chat(client, tools=[WEATHER])).json()
            r = await chat(client, tools=[WEATHER], stream=True)
    spec.validate("CreateChatCompletionResponse", folded)
    (choice,) = folded["choices"]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"] == [
        {
            "id": "call_up",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        }
    ]
    events = sse_payloads(r.text)
    for event in events[:-1]:
        spec.validate("CreateChatCompletionStreamResponse", event)
    arguments = "".join(
        call["function"].get("arguments", "")
        for e in events[:-1]
        for c in e["choices"]
        for call in c["delta"].get("tool_calls") or ()
    )
    assert arguments == '{"city": "Paris"}'


def interleaved_choices(ignore_n: bool = False) -> Any:
    """Two choices, their chunks interleaved, as an upstream that runs `n` at once sends
    them; with `ignore_n`, only ever one choice, whatever `n` says."""

    async def handler(ex: Exchange) -> None:
        n = 1 if ignore_n else ex.body.get("n", 1)
        seed = ex.body.get("seed", 0)
        await ex.start_stream()
        for word in ("alpha", " beta"):
            for index in range(n):
                await ex.event(text_chunk(f"{word}{seed + index}", index=index))
        for index in range(n):
            await ex.event(text_chunk("", index=index, finish="length"))
        await ex.event(usage_chunk(5, 2 * n))
        await ex.event("[DONE]")
        await ex.end_stream()

    return handler


async def test_n_choices_come_from_one_upstream_call_demultiplexed() -> None:
    with fake_upstream(interleaved_choices()) as up:
        async with gateway(up.base_url) as client:
            body = (await chat(client, n=2, seed=10)).json()
            streamed = sse_payloads((await chat(client, n=2, seed=10, stream=True)).text)
    assert [b.get("n") for b in up.bodies] == [2, 2]
    assert [c["message"]["content"] for c in body["choices"]] == [
        "alpha10 beta10",
        "alpha11 beta11",
    ]
    assert [c["finish_reason"] for c in body["choices"]] == ["length", "length"]
    assert body["usage"] == {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}
    texts: dict[int, str] = {}
    for event in streamed[:-1]:
        for c in event["choices"]:
            texts[c["index"]] = texts.get(c["index"], "") + (c["delta"].get("content") or "")
    assert texts == {0: "alpha10 beta10", 1: "alpha11 beta11"}


async def test_choices_an_upstream_leaves_out_are_asked_for_one_call_each() -> None:
    with fake_upstream(interleaved_choices(ignore_n=True)) as up:
        async with gateway(up.base_url) as client:
            body = (await chat(client, n=3, seed=10)).json()
    assert [(b.get("n"), b.get("seed")) for b in up.bodies] == [(3, 10), (None, 11), (None, 12)]
    assert [c["message"]["content"] for c in body["choices"]] == [
        "alpha10 beta10",
        "alpha11 beta11",
        "alpha12 beta12",
    ]
    # The prompt is counted once, as for `n`; every call's completion tokens are.
    assert body["usage"] == {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11}


async def test_without_forwarding_n_each_choice_is_its_own_call() -> None:
    with fake_upstream(interleaved_choices()) as up:
        async with gateway(up.base_url, upstream_forward_n=False) as client:
            body = (await chat(client, n=2, seed=10)).json()
    assert [(b.get("n"), b.get("seed")) for b in up.bodies] == [(None, 10), (None, 11)]
    assert [c["message"]["content"] for c in body["choices"]] == [
        "alpha10 beta10",
        "alpha11 beta11",
    ]


LLAMA_CPP_REFUSAL = {
    "error": {
        "code": 500,
        "message": "Only one completion choice is allowed",
        "type": "server_error",
    }
}


def refusing_n(status: int, error: dict[str, Any]) -> Any:
    """An upstream that answers `n` > 1 with `error` (llama.cpp's server: a 500), and one
    choice otherwise."""
    one = interleaved_choices()

    async def handler(ex: Exchange) -> None:
        if ex.body.get("n", 1) > 1:
            await ex.respond(status, error)
        else:
            await one(ex)

    return handler


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, LLAMA_CPP_REFUSAL),
        (400, {"error": {"message": "n must be 1", "type": "invalid_request_error", "param": "n"}}),
    ],
)
async def test_an_upstream_that_refuses_n_gets_one_call_per_choice(
    status: int, error: dict[str, Any]
) -> None:
    with fake_upstream(refusing_n(status, error)) as up:
        async with gateway(up.base_url) as client:
            first = await chat(client, n=3, seed=10)
            later = await chat(client, n=2, seed=20, stream=True)
    assert first.status_code == 200, first.text
    assert [c["message"]["content"] for c in first.json()["choices"]] == [
        "alpha10 beta10",
        "alpha11 beta11",
        "alpha12 beta12",
    ]
    assert later.status_code == 200 and later.text.rstrip().endswith("data: [DONE]")
    # Refused once, then remembered: the next request fans out at once.
    assert [(b.get("n"), b.get("seed")) for b in up.bodies] == [
        (3, 10),
        (None, 10),
        (None, 11),
        (None, 12),
        (None, 20),
        (None, 21),
    ]


async def test_an_error_that_is_not_about_n_is_not_retried_as_a_fan_out() -> None:
    overloaded = {"error": {"message": "out of memory", "type": "server_error", "code": 500}}
    with fake_upstream(refusing_n(500, overloaded)) as up:
        async with gateway(up.base_url) as client:
            r = await chat(client, n=2, seed=10)
    assert r.status_code == 500 and r.json()["error"]["message"] == "out of memory"
    assert [b.get("n") for b in up.bodies] == [2]


def completion_stream() -> Any:
    async def handler(ex: Exchange) -> None:
        await ex.start_stream()
        for token, logprob in ((" upon", -0.5), (" a", -0.25)):
            choice = {
                "index": 0,
                "text": token,
                "logprobs": {
                    "tokens": [token],
                    "token_logprobs": [logprob],
                    "top_logprobs": [{token: logprob, " the": logprob - 1}],
                    "text_offset": [0],
                },
                "finish_reason": None,
            }
            await ex.event({"id": "cmpl-up", "object": "text_completion", "choices": [choice]})
        await ex.event(
            {
                "object": "text_completion",
                "choices": [{"index": 0, "text": "", "finish_reason": "length"}],
            }
        )
        await ex.event(
            {"object": "text_completion", "choices": [], "usage": usage_chunk(1, 2)["usage"]}
        )
        await ex.event("[DONE]")
        await ex.end_stream()

    return handler


async def test_completions_with_logprobs_and_echo(spec: SpecValidator) -> None:
    with fake_upstream(completion_stream()) as up:
        async with gateway(up.base_url) as client:
            r = await client.post(
                "/v1/completions",
                json={
                    "model": "mock-model",
                    "prompt": "Once",
                    "max_tokens": 2,
                    "logprobs": 1,
                    "echo": True,
                },
            )
    assert r.status_code == 200, r.text
    body = r.json()
    spec.validate("CreateCompletionResponse", body)
    assert up.requests[0].path == "/v1/completions"
    sent = up.bodies[0]
    assert (sent["prompt"], sent["max_tokens"], sent["logprobs"]) == ("Once", 2, 1)
    assert "echo" not in sent  # this server echoes the prompt itself
    (choice,) = body["choices"]
    assert choice["text"] == "Once upon a"
    assert choice["finish_reason"] == "length"
    assert choice["logprobs"]["tokens"] == [" upon", " a"]
    assert choice["logprobs"]["token_logprobs"] == [-0.5, -0.25]
    assert choice["logprobs"]["text_offset"] == [4, 9]
    assert choice["logprobs"]["top_logprobs"][0] == {" upon": -0.5, " the": -1.5}
    assert body["usage"] == {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}


async def test_one_kept_alive_connection_serves_request_after_request() -> None:
    with fake_upstream(answers("Hi", " again")) as up:
        async with gateway(up.base_url) as client:
            for stream in (False, True, False, True):
                r = await chat(client, stream=stream)
                assert r.status_code == 200 and "again" in r.text
    assert len(up.requests) == 4
    assert up.connections == 1  # each stream was read to its end, [DONE] and after


async def test_without_usage_from_the_upstream_each_chunk_counts_as_a_token() -> None:
    async def no_usage(ex: Exchange) -> None:
        await ex.start_stream()
        for word in ("One", " two", " three"):
            await ex.event(text_chunk(word))
        await ex.event(text_chunk("", finish="length"))
        await ex.event("[DONE]")
        await ex.end_stream()

    with fake_upstream(no_usage) as up:
        async with gateway(up.base_url) as client:
            body = (await chat(client)).json()
    assert body["choices"][0]["message"]["content"] == "One two three"
    assert body["usage"] == {"prompt_tokens": 0, "completion_tokens": 3, "total_tokens": 3}


async def test_an_upstream_that_holds_the_connection_after_done_still_ends_the_answer() -> None:
    async def holds_on(ex: Exchange) -> None:
        await ex.start_stream()
        await ex.event(text_chunk("Done", finish="stop"))
        await ex.event(usage_chunk(1, 1))
        await ex.event("[DONE]")
        await ex.until_client_leaves()  # no end of the chunked body

    with fake_upstream(holds_on) as up:
        async with gateway(up.base_url) as client:
            r = await chat(client, stream=True)
    events = sse_payloads(r.text)
    assert events[-1] == "[DONE]" and all("error" not in e for e in events[:-1])
    assert "".join(e["choices"][0]["delta"].get("content") or "" for e in events[1:-2]) == "Done"
