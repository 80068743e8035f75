"""The official `anthropic` Python SDK against real gunicorn: create, stream (the SDK's own
accumulator), tools and tool results, stop sequences, count_tokens, and its typed errors.
Every body and event is checked against the SDK's own types (strict, no unknown fields)."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest

from ..support.anthropic_sdk import named_events, sdk_event, sdk_message
from ..support.paths import REPO_ROOT
from ..support.server import ServerProcess, server_fixture

pytestmark = pytest.mark.server

USER = [{"role": "user", "content": "Say something."}]
KEY = "sk-ant-test-key"


scripted = server_fixture(
    {
        "MODEL_BACKEND": "tests.support.scripted_backend:Transcript",
        "PYTHONPATH": str(REPO_ROOT / "api"),
        "MODEL_ID": "scripted",
        "MODEL_ALIASES": "",
        "MOCK_N_CTX": "2048",
        "API_KEYS": KEY,
    },
    doc="Answers with the transcript of what reached the model, behind an API key, with a "
    "context window a small model might have.",
)


def sdk(server: ServerProcess, key: str = "unused") -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.base_url, api_key=key, max_retries=0)


def test_create_returns_a_message_the_sdk_validates(mock_server: ServerProcess) -> None:
    raw = sdk(mock_server).messages.with_raw_response.create(
        model="mock-model", max_tokens=100, messages=USER
    )
    message = sdk_message(raw.http_response.json())
    assert raw.http_response.headers["request-id"]
    assert message.id.startswith("msg_") and message.role == "assistant"
    assert message.model == "mock-model" and message.stop_reason == "end_turn"
    assert message.content[0].type == "text" and message.content[0].text
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


def test_the_stream_joined_by_the_sdk_equals_the_message(mock_server: ServerProcess) -> None:
    client = sdk(mock_server)
    whole = client.messages.create(model="mock-model", max_tokens=8, messages=USER)
    with client.messages.stream(model="mock-model", max_tokens=8, messages=USER) as stream:
        final = stream.get_final_message()
    assert [b.model_dump(include={"type", "text"}) for b in final.content] == [
        b.model_dump(include={"type", "text"}) for b in whole.content
    ]
    assert final.stop_reason == whole.stop_reason == "max_tokens"
    assert final.usage.output_tokens == whole.usage.output_tokens == 8


def test_every_stream_event_is_one_the_sdk_knows_in_order(mock_server: ServerProcess) -> None:
    body = {"model": "mock-model", "max_tokens": 16, "messages": USER, "stream": True}
    r = httpx.post(mock_server.base_url + "/v1/messages?beta=true", json=body, timeout=30)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = named_events(r.content)
    for name, payload in events:
        assert payload["type"] == name
        sdk_event(payload)
    names = [name for name, _ in events]
    assert names[:2] == ["message_start", "content_block_start"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(names[2:-3]) == {"content_block_delta"}


def test_stop_sequences_end_the_message_and_are_named(mock_server: ServerProcess) -> None:
    client = sdk(mock_server)
    whole = client.messages.create(model="mock-model", max_tokens=8, messages=USER)
    text = whole.content[0].text  # type: ignore[union-attr]
    word = text.split()[2]  # the mock's answer is the same for the same prompt
    cut = client.messages.create(
        model="mock-model", max_tokens=8, messages=USER, stop_sequences=["NEVER", word]
    )
    assert cut.stop_reason == "stop_sequence" and cut.stop_sequence == word
    assert cut.content[0].text == text[: text.index(word)]  # type: ignore[union-attr]


def test_a_tool_use_and_its_result_round_trip(scripted: ServerProcess) -> None:
    client = sdk(scripted, KEY)
    tools: Any = [
        {
            "name": "lookup",
            "description": "Look a word up.",
            "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}},
        }
    ]
    with client.messages.stream(
        model="scripted",
        max_tokens=64,
        messages=[{"role": "user", "content": "kiwi"}],
        tools=tools,
        tool_choice={"type": "tool", "name": "lookup"},
    ) as stream:
        first = stream.get_final_message()
    assert first.stop_reason == "tool_use"
    (call,) = first.content
    assert call.type == "tool_use" and call.name == "lookup"
    assert call.input == {"text": "kiwi"} and call.id.startswith("toolu_")
    second = client.messages.create(
        model="scripted",
        max_tokens=64,
        tools=tools,
        messages=[
            {"role": "user", "content": "kiwi"},
            {"role": "assistant", "content": [call.model_dump()]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "a fruit"}],
            },
        ],
    )
    text = second.content[0].text  # type: ignore[union-attr]
    assert '[call lookup({"text": "kiwi"})]' in text
    assert f"tool: a fruit [for {call.id}]" in text


def test_count_tokens_counts_what_the_model_reads(mock_server: ServerProcess) -> None:
    client = sdk(mock_server)
    short = client.messages.count_tokens(model="mock-model", messages=USER)
    longer = client.messages.count_tokens(
        model="mock-model", messages=USER, system="You are a terse assistant."
    )
    assert 0 < short.input_tokens < longer.input_tokens
    created = client.messages.create(model="mock-model", max_tokens=4, messages=USER)
    assert created.usage.input_tokens == short.input_tokens


def test_what_claude_code_asks_for_beyond_the_model_is_accepted_and_named(
    scripted: ServerProcess,
) -> None:
    body = {
        "model": "scripted",
        "max_tokens": 128_000,
        "messages": USER,
        "thinking": {"type": "enabled", "budget_tokens": 4096},
        "context_management": {"edits": []},
    }
    r = httpx.post(
        scripted.base_url + "/v1/messages?beta=true",
        json=body,
        headers={"x-api-key": KEY, "anthropic-version": "2023-06-01", "anthropic-beta": "x,y"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    ignored = r.headers["x-ignored-params"].split(", ")
    assert {"thinking", "context_management", "max_tokens"} <= set(ignored)
    assert sdk_message(r.json()).stop_reason == "end_turn"


def test_errors_are_the_sdks_typed_exceptions(
    mock_server: ServerProcess, scripted: ServerProcess
) -> None:
    with pytest.raises(anthropic.NotFoundError) as missing:
        sdk(mock_server).messages.create(model="no-such-model", max_tokens=8, messages=USER)
    assert missing.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    with pytest.raises(anthropic.BadRequestError) as bad:
        sdk(mock_server).messages.create(model="mock-model", max_tokens=0, messages=USER)
    assert bad.value.body["type"] == "error"  # type: ignore[index]
    with pytest.raises(anthropic.BadRequestError):
        sdk(mock_server).messages.create(
            model="mock-model",
            max_tokens=8,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": "AA=="},
                        }
                    ],
                }
            ],
        )
    with pytest.raises(anthropic.AuthenticationError) as refused:
        sdk(scripted, "wrong-key").messages.create(model="scripted", max_tokens=8, messages=USER)
    assert refused.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    r = httpx.post(
        mock_server.base_url + "/v1/messages", content=b"x" * 70_000, timeout=30
    )  # over MAX_BODY_BYTES
    assert r.status_code == 413
    assert r.json() == {
        "type": "error",
        "error": {"type": "request_too_large", "message": r.json()["error"]["message"]},
    }
