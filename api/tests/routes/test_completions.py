"""Legacy text completions in-process."""

from __future__ import annotations

from typing import Any

import httpx

from ..support.spec import SpecValidator
from ..support.sse import sse_payloads


async def complete(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post("/v1/completions", json={"model": "mock-model", **body})


async def test_string_prompt_defaults_to_16_tokens(
    client: httpx.AsyncClient, spec: SpecValidator
) -> None:
    body = (await complete(client, prompt="Once upon a time")).json()
    spec.validate("CreateCompletionResponse", body)
    assert body["object"] == "text_completion"
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 16


async def test_list_prompt_with_n_gives_prompt_major_indexes(
    client: httpx.AsyncClient, spec: SpecValidator
) -> None:
    body = (await complete(client, prompt=["a b c", "d e"], n=2, max_tokens=3)).json()
    spec.validate("CreateCompletionResponse", body)
    assert [c["index"] for c in body["choices"]] == [0, 1, 2, 3]
    usage = body["usage"]
    assert usage["completion_tokens"] == 12
    assert usage["prompt_tokens"] == 5  # each prompt counted once, not once per choice


async def test_stream_matches_body(client: httpx.AsyncClient, spec: SpecValidator) -> None:
    folded = (await complete(client, prompt="x", max_tokens=6, seed=4)).json()
    r = await complete(
        client,
        prompt="x",
        max_tokens=6,
        seed=4,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = sse_payloads(r.text)
    assert chunks[-1] == "[DONE]"
    text = ""
    for chunk in chunks[:-1]:
        spec.validate("CreateCompletionResponse", chunk)
        text += "".join(c["text"] for c in chunk["choices"])
    assert text == folded["choices"][0]["text"]
    assert chunks[-2]["usage"] == folded["usage"]


async def test_echo_prefixes_the_prompt(client: httpx.AsyncClient) -> None:
    body = (await complete(client, prompt="Echo me:", echo=True, max_tokens=2)).json()
    assert body["choices"][0]["text"].startswith("Echo me:")


async def test_logprobs_use_the_legacy_shape(
    client: httpx.AsyncClient, spec: SpecValidator
) -> None:
    body = (await complete(client, prompt="p", logprobs=2, max_tokens=3)).json()
    spec.validate("CreateCompletionResponse", body)
    lp = body["choices"][0]["logprobs"]
    assert len(lp["tokens"]) == len(lp["token_logprobs"]) == len(lp["text_offset"]) == 3
    assert "".join(lp["tokens"]) == body["choices"][0]["text"]
