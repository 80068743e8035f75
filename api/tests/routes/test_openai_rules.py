"""OpenAI's parameter rules, as its spec and API state them, on every endpoint: each broken
rule is a 400 that names the parameter (never a 422, never a 500)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ..support.app import asgi_client, settings

MSG = [{"role": "user", "content": "hi"}]
CHAT = "/v1/chat/completions"
TEXT = "/v1/completions"
RESPONSES = "/v1/responses"
EMBED = "/v1/embeddings"

RULES: list[tuple[str, dict[str, Any], str]] = [
    (CHAT, {"stream_options": {"include_usage": True}}, "stream_options"),
    (CHAT, {"stream": False, "stream_options": {"include_usage": True}}, "stream_options"),
    (TEXT, {"stream_options": {"include_usage": True}}, "stream_options"),
    (CHAT, {"stop": []}, "stop"),
    (CHAT, {"stop": ["a", "b", "c", "d", "e"]}, "stop"),
    (CHAT, {"seed": 2**63}, "seed"),
    (CHAT, {"max_tokens": 10**9}, "max_tokens"),
    (CHAT, {"max_completion_tokens": 32_768}, "max_completion_tokens"),
    (TEXT, {"max_tokens": 10**9}, "max_tokens"),
    (CHAT, {"top_logprobs": 2}, "top_logprobs"),
    (CHAT, {"top_logprobs": 21, "logprobs": True}, "top_logprobs"),
    (CHAT, {"modalities": ["text", "audio"]}, "modalities"),
    (CHAT, {"reasoning_effort": "enormous"}, "reasoning_effort"),
    (CHAT, {"service_tier": "gold"}, "service_tier"),
    (CHAT, {"safety_identifier": "x" * 65}, "safety_identifier"),
    (CHAT, {"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
    (CHAT, {"metadata": {"k": "v" * 513}}, "metadata.k"),
    (CHAT, {"temperature": 2.5}, "temperature"),
    (CHAT, {"n": 0}, "n"),
    (TEXT, {"best_of": 1, "n": 2}, "best_of"),
    (TEXT, {"logprobs": 6}, "logprobs"),
    (RESPONSES, {"include": ["everything"]}, "include[0]"),
    (RESPONSES, {"conversation": "c", "previous_response_id": "resp_1"}, "conversation"),
    (RESPONSES, {"prompt": {"id": "pmpt_1"}}, "prompt"),
    (RESPONSES, {"max_output_tokens": 15}, "max_output_tokens"),
    (RESPONSES, {"top_logprobs": 21}, "top_logprobs"),
    (EMBED, {"input": ""}, "input"),
    (EMBED, {"input": []}, "input"),
    (EMBED, {"input": [[]]}, "input[0]"),
    (EMBED, {"input": [-1]}, "input[0]"),
    (EMBED, {"input": ["x"] * 2049}, "input"),
    (EMBED, {"input": "x", "encoding_format": "hex"}, "encoding_format"),
    (EMBED, {"input": "x", "dimensions": 0}, "dimensions"),
    (EMBED, {"input": "x", "dimensions": 4096}, "dimensions"),
]


def body_for(path: str, extra: dict[str, Any]) -> dict[str, Any]:
    base: dict[str, Any] = {"model": "mock-model"}
    if path == CHAT:
        base["messages"] = MSG
    elif path == TEXT:
        base["prompt"] = "hi"
    else:
        base["input"] = "hi"
    return {**base, **extra}


@pytest.mark.parametrize(("path", "extra", "param"), RULES)
async def test_a_broken_rule_is_a_400_naming_the_param(
    client: httpx.AsyncClient, path: str, extra: dict[str, Any], param: str
) -> None:
    r = await client.post(path, json=body_for(path, extra))
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param, error


async def test_a_prompt_and_completion_over_the_mock_window_is_refused() -> None:
    """The mock has a context window too: the prompt's share is checked exactly."""
    async with asgi_client(settings(), backend={"mock_n_ctx": 64}) as c:
        long = [{"role": "user", "content": "word " * 40}]
        r = await c.post(CHAT, json={"model": "mock-model", "messages": long, "max_tokens": 30})
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "context_length_exceeded"
        ok = await c.post(CHAT, json={"model": "mock-model", "messages": long, "max_tokens": 5})
        assert ok.status_code == 200
