"""Chat completions in-process: the two renderings agree and follow the spec."""

from __future__ import annotations

from typing import Any

import httpx

from ..support.app import asgi_client, settings
from ..support.spec import SpecValidator
from ..support.sse import sse_payloads

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]


async def chat(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post(
        "/v1/chat/completions", json={"model": "mock-model", "messages": MESSAGES, **body}
    )


def stream_texts(chunks: list[Any], spec: SpecValidator) -> dict[int, str]:
    assert chunks[-1] == "[DONE]"
    texts: dict[int, str] = {}
    for chunk in chunks[:-1]:
        spec.validate("CreateChatCompletionStreamResponse", chunk)
        assert chunk["object"] == "chat.completion.chunk"
        for choice in chunk["choices"]:
            texts.setdefault(choice["index"], "")
            texts[choice["index"]] += choice["delta"].get("content") or ""
    return texts


async def test_non_streaming_body_follows_the_spec(
    client: httpx.AsyncClient, spec: SpecValidator
) -> None:
    r = await chat(client)
    assert r.status_code == 200
    body = r.json()
    spec.validate("CreateChatCompletionResponse", body)
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    assert body["model"] == "mock-model"
    (choice,) = body["choices"]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"]
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


async def test_stream_and_non_stream_give_the_same_text(
    client: httpx.AsyncClient, spec: SpecValidator
) -> None:
    folded = (await chat(client, seed=7, n=3)).json()
    r = await chat(client, seed=7, n=3, stream=True)
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["x-accel-buffering"] == "no"
    streamed = stream_texts(sse_payloads(r.text), spec)
    assert sorted(streamed) == [0, 1, 2]
    assert [c["index"] for c in folded["choices"]] == [0, 1, 2]
    assert {c["index"]: c["message"]["content"] for c in folded["choices"]} == streamed
    assert len(set(streamed.values())) == 3, "choices should differ"


async def test_stream_shape_role_first_then_content_then_finish_then_usage(
    client: httpx.AsyncClient, spec: SpecValidator
) -> None:
    r = await chat(client, stream=True, max_tokens=4, stream_options={"include_usage": True})
    chunks = sse_payloads(r.text)
    stream_texts(chunks, spec)
    first, *middle, finish, usage_chunk, done = chunks
    assert first["choices"][0]["delta"]["role"] == "assistant"
    assert all("role" not in c["choices"][0]["delta"] for c in middle)
    assert all(c["choices"][0]["finish_reason"] is None for c in [first, *middle])
    assert finish["choices"][0]["finish_reason"] == "length"
    assert all(c["usage"] is None for c in [first, *middle, finish])
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["completion_tokens"] == 4
    assert done == "[DONE]"
    assert len({c["id"] for c in chunks[:-1]}) == 1


async def test_stream_without_include_usage_has_no_usage_field(
    client: httpx.AsyncClient,
) -> None:
    chunks = sse_payloads((await chat(client, stream=True, max_tokens=2)).text)
    assert all("usage" not in c for c in chunks[:-1])


async def test_stop_cuts_text_and_finishes_with_stop(client: httpx.AsyncClient) -> None:
    full = (await chat(client, seed=3)).json()["choices"][0]["message"]["content"]
    stop = full.split()[2]
    body = (await chat(client, seed=3, stop=[stop])).json()
    text = body["choices"][0]["message"]["content"]
    assert body["choices"][0]["finish_reason"] == "stop"
    assert stop not in text
    assert full.startswith(text)


async def test_max_tokens_gives_length_and_counts_add_up(client: httpx.AsyncClient) -> None:
    body = (await chat(client, max_tokens=5, n=2)).json()
    assert [c["finish_reason"] for c in body["choices"]] == ["length", "length"]
    usage = body["usage"]
    assert usage["completion_tokens"] == 10
    assert usage["total_tokens"] == usage["prompt_tokens"] + 10


async def test_max_completion_tokens_wins(client: httpx.AsyncClient) -> None:
    body = (await chat(client, max_tokens=9, max_completion_tokens=2)).json()
    assert body["usage"]["completion_tokens"] == 2


async def test_alias_is_served_and_echoed(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/chat/completions", json={"model": "gpt-3.5-turbo", "messages": MESSAGES}
    )
    assert r.status_code == 200
    assert r.json()["model"] == "gpt-3.5-turbo"


async def test_unhonoured_fields_are_named_in_a_header(client: httpx.AsyncClient) -> None:
    r = await chat(client, temperature=0.2, top_p=0.5, frobnicate={"a": 1}, seed=1)
    assert r.status_code == 200
    assert r.headers["x-ignored-params"] == "frobnicate, temperature, top_p"


async def test_logprobs_in_both_modes(client: httpx.AsyncClient, spec: SpecValidator) -> None:
    body = (await chat(client, logprobs=True, top_logprobs=2, max_tokens=3)).json()
    spec.validate("CreateChatCompletionResponse", body)
    content = body["choices"][0]["logprobs"]["content"]
    assert len(content) == 3
    assert all(len(entry["top_logprobs"]) == 2 for entry in content)
    assert "".join(e["token"] for e in content) == body["choices"][0]["message"]["content"]
    chunks = sse_payloads((await chat(client, logprobs=True, max_tokens=3, stream=True)).text)
    stream_texts(chunks, spec)
    streamed = [c for c in chunks[:-1] if c["choices"] and c["choices"][0]["logprobs"]]
    assert len(streamed) == 3


async def test_every_role_and_text_parts_are_accepted(client: httpx.AsyncClient) -> None:
    messages = [
        {"role": "developer", "content": "rules"},
        {"role": "system", "content": [{"type": "text", "text": "sys"}]},
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
    ]
    r = await client.post(
        "/v1/chat/completions", json={"model": "mock-model", "messages": messages}
    )
    assert r.status_code == 200, r.text


async def test_image_parts_are_refused_for_a_text_model(client: httpx.AsyncClient) -> None:
    content = [{"type": "image_url", "image_url": {"url": "http://example.invalid/x.png"}}]
    r = await client.post(
        "/v1/chat/completions",
        json={"model": "mock-model", "messages": [{"role": "user", "content": content}]},
    )
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "messages[0].content"


async def test_two_apps_in_one_process_are_independent() -> None:
    async with (
        asgi_client(settings(model_id="one")) as a,
        asgi_client(settings(model_id="two")) as b,
    ):
        assert (await a.get("/v1/models")).json()["data"][0]["id"] == "one"
        assert (await b.get("/v1/models")).json()["data"][0]["id"] == "two"
        assert (await a.get("/v1/models/two")).status_code == 404
