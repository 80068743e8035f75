"""The gateway (MODEL_BACKEND=openai) in front of this server with the real model: the same
seed and request give the same answer through it as directly, in every shape."""

from __future__ import annotations

from typing import Any

import pytest

from ..support import sdk_checks
from ..support.server import ServerProcess, server_fixture
from ..support.spec import SpecValidator

pytestmark = pytest.mark.server

MODEL = "smollm2"
ASK = [{"role": "user", "content": "What is the weather like in Paris today?"}]
WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
    "required": ["city", "unit"],
}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]


gateway = server_fixture(
    lambda llama_server: {
        "MODEL_BACKEND": "openai",
        "MODEL_ID": MODEL,
        "UPSTREAM_BASE_URL": llama_server.base_url + "/v1",
        "UPSTREAM_READ_TIMEOUT": "120",
    }
)


def calls(body: dict[str, Any]) -> list[Any]:
    """Tool calls without their ids (each server draws its own)."""
    return [
        [c["function"] for c in choice["message"].get("tool_calls") or ()]
        for choice in body["choices"]
    ]


def counts(body: dict[str, Any]) -> dict[str, Any]:
    """The usage, its cached tokens as a yes/no: the upstream reports them and the gateway
    passes them on, but how many depends on what the upstream's cache held for each call."""
    usage = dict(body["usage"])
    details = usage.pop("prompt_tokens_details", None)
    assert details is not None and isinstance(details["cached_tokens"], int), usage
    return usage


def test_the_same_request_gives_the_same_answer_through_the_gateway(
    gateway: ServerProcess, llama_server: ServerProcess, spec: SpecValidator
) -> None:
    through = sdk_checks.sdk(gateway.base_url, timeout=120)
    direct = sdk_checks.sdk(llama_server.base_url, timeout=120)
    requests: list[dict[str, Any]] = [
        {"temperature": 0, "max_tokens": 24},
        {"seed": 7, "max_tokens": 16, "n": 2, "logprobs": True, "top_logprobs": 2},
        {"temperature": 0, "max_tokens": 60, "tools": TOOLS, "tool_choice": "required"},
        {
            "temperature": 0,
            "max_tokens": 60,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "weather", "schema": WEATHER, "strict": True},
            },
        },
    ]
    for extra in requests:
        request = {"model": MODEL, "messages": ASK, **extra}
        mine = sdk_checks.chat(through, spec, **request)
        theirs = sdk_checks.chat(direct, spec, **request)
        assert sdk_checks.text_of(mine) == sdk_checks.text_of(theirs), extra
        assert calls(mine) == calls(theirs), extra
        assert [c["logprobs"] for c in mine["choices"]] == [
            c["logprobs"] for c in theirs["choices"]
        ]
        assert counts(mine) == counts(theirs), extra
        streamed = sdk_checks.chat_stream(through, spec, **request)
        assert [c["content"] for c in streamed["choices"]] == [
            c or "" for c in sdk_checks.text_of(theirs)
        ]
        assert counts(streamed) == counts(theirs)
    prompt = {"model": MODEL, "prompt": "The capital of France is", "max_tokens": 8}
    mine = sdk_checks.completion(through, spec, **prompt, temperature=0, logprobs=2)
    theirs = sdk_checks.completion(direct, spec, **prompt, temperature=0, logprobs=2)
    assert (mine["choices"], counts(mine)) == (theirs["choices"], counts(theirs))


def test_the_checks_every_backend_passes(gateway: ServerProcess, spec: SpecValidator) -> None:
    sdk_checks.assert_every_shape(sdk_checks.sdk(gateway.base_url, timeout=120), spec, MODEL)
