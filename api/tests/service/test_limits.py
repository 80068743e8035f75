"""Each per-request limit is a setting and is refused with a 400 naming the parameter."""

from __future__ import annotations

from typing import Any

import pytest

from ..support.app import asgi_client, settings

MSG = {"role": "user", "content": "hello"}
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
LIMITS = {
    "max_n": 2,
    "max_messages": 3,
    "max_prompt_chars": 50,
    "max_tools": 1,
    "max_tokens": 10,
}


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/chat/completions", {"messages": [MSG], "n": 3}, "n"),
        ("/v1/chat/completions", {"messages": [MSG] * 4}, "messages"),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "x" * 51}]}, "messages"),
        ("/v1/chat/completions", {"messages": [MSG], "tools": [TOOL, TOOL]}, "tools"),
        ("/v1/chat/completions", {"messages": [MSG], "max_tokens": 11}, "max_tokens"),
        (
            "/v1/chat/completions",
            {"messages": [MSG], "max_completion_tokens": 11},
            "max_completion_tokens",
        ),
        ("/v1/chat/completions", {"messages": [MSG], "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ("/v1/completions", {"prompt": "x" * 51}, "prompt"),
        ("/v1/completions", {"prompt": "x", "max_tokens": 11}, "max_tokens"),
        ("/v1/completions", {"prompt": ["a"] * 5, "n": 2}, "prompt"),
    ],
)
async def test_over_the_limit_is_a_400_naming_the_parameter(
    path: str, body: dict[str, Any], param: str
) -> None:
    async with asgi_client(settings(**LIMITS)) as client:
        r = await client.post(path, json={"model": "mock-model", **body})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param


async def test_defaults_above_the_token_cap_come_down_to_it() -> None:
    async with asgi_client(settings(max_tokens=5), backend={"mock_max_tokens": 64}) as client:
        chat = await client.post(
            "/v1/chat/completions", json={"model": "mock-model", "messages": [MSG]}
        )
        text = await client.post("/v1/completions", json={"model": "mock-model", "prompt": "x"})
    assert chat.json()["usage"]["completion_tokens"] == 5
    assert text.json()["usage"]["completion_tokens"] == 5


async def test_at_the_limit_is_served() -> None:
    body = {
        "model": "mock-model",
        "messages": [MSG] * 3,
        "n": 2,
        "max_tokens": 10,
        "tools": [TOOL],
    }
    async with asgi_client(settings(**LIMITS)) as client:
        r = await client.post("/v1/chat/completions", json=body)
    assert r.status_code == 200, r.text
