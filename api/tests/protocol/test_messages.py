"""The Anthropic Messages request models: what Claude Code and the SDKs send parses, what a
local model can't honour is named, and bad input is a 400 naming the field."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from llm_gateway.errors import InvalidRequest
from llm_gateway.protocol.messages import (
    CountTokensRequest,
    MessagesRequest,
    OtherBlock,
    ServerTool,
    TextBlock,
    ToolResultBlock,
)
from llm_gateway.routes.parsing import parse_json

from ..support.claude_code import claude_code_request


def parse(body: dict[str, Any]) -> MessagesRequest:
    return parse_json(orjson.dumps(body), MessagesRequest)


def minimal(**fields: Any) -> dict[str, Any]:
    return {
        "model": "m",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
        **fields,
    }


def refused(body: dict[str, Any]) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as info:
        parse(body)
    return info.value


def test_claude_code_request_parses_and_names_what_is_ignored() -> None:
    req = parse(claude_code_request())
    assert req.max_tokens == 128000
    assert req.stream is True
    assert [m.role for m in req.messages] == ["user", "assistant", "user", "system", "user"]
    assert len(req.client_tools()) == 12
    assert req.metadata is not None and req.metadata.user_id
    assert req.ignored_fields() == {
        "thinking",
        "cache_control",
        "context_management",
        "output_config.effort",
    }


def test_top_level_fields_a_local_model_cannot_honour_are_named_not_refused() -> None:
    req = parse(
        minimal(
            cache_control={"type": "ephemeral"},
            thinking={"type": "enabled", "budget_tokens": 2048},
            service_tier="auto",
            speed="fast",
            container="container_1",
            inference_geo="us",
            diagnostics={"previous_message_id": "msg_1"},
            mcp_servers=[{"type": "url", "url": "https://example.test", "name": "x"}],
            frobnicate=True,
        )
    )
    assert req.ignored_fields() == {
        "cache_control",
        "thinking",
        "service_tier",
        "speed",
        "container",
        "inference_geo",
        "diagnostics",
        "mcp_servers",
        "frobnicate",
    }


def test_disabled_thinking_and_explicit_nulls_are_not_reported() -> None:
    req = parse(minimal(thinking={"type": "disabled"}, container=None, service_tier=None))
    assert req.ignored_fields() == set()


def test_cache_control_deep_in_a_tool_result_is_reported_once() -> None:
    content = [
        {
            "type": "tool_result",
            "tool_use_id": "toolu_1",
            "content": [{"type": "text", "text": "ok", "cache_control": {"type": "ephemeral"}}],
        }
    ]
    req = parse(minimal(messages=[{"role": "user", "content": content}]))
    assert req.ignored_fields() == {"cache_control"}


def test_server_tools_are_accepted_and_named_by_type() -> None:
    tools = [
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 5},
        {"type": "bash_20250124", "name": "bash"},
        {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"},
        {"type": "custom", "name": "lookup", "input_schema": {"type": "object"}},
        {"name": "plain", "input_schema": {"type": "object"}, "defer_loading": True},
    ]
    req = parse(minimal(tools=tools))
    assert [type(t) for t in req.tools or ()][:3] == [ServerTool] * 3
    assert [t.name for t in req.client_tools()] == ["lookup", "plain"]
    assert req.ignored_fields() == {
        "tools.web_search_20250305",
        "tools.bash_20250124",
        "tools.text_editor_20250728",
    }  # `defer_loading` is honoured (the tool is not shown): translate/test_messages.py


def test_metadata_user_id_is_accepted_silently_other_keys_are_named() -> None:
    assert parse(minimal(metadata={"user_id": "u"})).ignored_fields() == set()
    assert parse(minimal(metadata={"user_id": "u", "team": "t"})).ignored_fields() == {
        "metadata.team"
    }


def test_content_blocks_keep_their_kind() -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": ""}}
    content = [
        {"type": "text", "text": "see"},
        image,
        {"type": "tool_result", "tool_use_id": "t", "content": "x", "is_error": True},
    ]
    req = parse(minimal(messages=[{"role": "user", "content": content}]))
    blocks = req.messages[0].blocks()
    assert [type(b) for b in blocks] == [TextBlock, OtherBlock, ToolResultBlock]
    assert blocks[1].type == "image"


def test_tool_choice_variants_parse() -> None:
    tools = [{"name": "lookup", "input_schema": {"type": "object"}}]
    for choice in (
        {"type": "auto", "disable_parallel_tool_use": True},
        {"type": "any"},
        {"type": "tool", "name": "lookup"},
        {"type": "none"},
    ):
        req = parse(minimal(tools=tools, tool_choice=choice))
        assert req.tool_choice is not None and req.tool_choice.type == choice["type"]


def test_count_tokens_takes_no_max_tokens() -> None:
    body = claude_code_request()
    for field in ("max_tokens", "stream", "metadata"):
        body.pop(field)
    req = parse_json(orjson.dumps(body), CountTokensRequest)
    assert len(req.messages) == 5


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": "64"}, "max_tokens"),
        ({"temperature": 1.5}, "temperature"),
        ({"top_p": -0.1}, "top_p"),
        ({"top_k": -1}, "top_k"),
        ({"stop_sequences": ["ok", ""]}, "stop_sequences"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user"}]}, "messages[0].content"),
        ({"system": [{"type": "image", "source": {}}]}, "system[0].type"),
        ({"tools": [{"name": "bad name!", "input_schema": {}}]}, "tools[0].name"),
        ({"tools": [{"name": "lookup"}]}, "tools[0].input_schema"),
        ({"tool_choice": {"type": "sometimes"}}, "tool_choice"),
        ({"tool_choice": {"type": "tool"}}, "tool_choice.name"),
        (
            {"tool_choice": {"type": "auto", "disable_parallel_tool_use": 1}},
            "tool_choice.disable_parallel_tool_use",
        ),
    ],
)
def test_bad_input_is_a_400_naming_the_field(change: dict[str, Any], param: str) -> None:
    assert refused(minimal(**change)).param == param


def test_missing_max_tokens_is_a_400() -> None:
    body = minimal()
    del body["max_tokens"]
    error = refused(body)
    assert error.param == "max_tokens"
    assert "Missing required parameter" in error.message


def test_tool_use_needs_an_object_input() -> None:
    turn = {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "t", "name": "f", "input": "{}"}],
    }
    assert refused(minimal(messages=[turn])).param == "messages[0].content[0].input"


def test_system_turn_holds_only_text() -> None:
    turn = {"role": "system", "content": [{"type": "image", "source": {}}]}
    error = refused(minimal(messages=[turn]))
    assert error.param == "messages[0]"
    assert "only text blocks" in error.message


def test_tool_choice_must_name_a_given_tool() -> None:
    tools = [{"name": "lookup", "input_schema": {"type": "object"}}]
    error = refused(minimal(tools=tools, tool_choice={"type": "tool", "name": "other"}))
    assert error.param == "tool_choice.name"
    assert refused(minimal(tool_choice={"type": "any"})).param == "tool_choice"


def test_the_claude_code_request_is_not_changed_by_parsing() -> None:
    body = claude_code_request()
    before = copy.deepcopy(body)
    parse(body)
    assert body == before
