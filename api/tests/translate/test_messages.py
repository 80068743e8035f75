"""Anthropic Messages request → GenerationRequest: the conversation as chat messages, tools,
tool choice, sampling, and the names of what nothing honours."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from llm_gateway.backends import Message, ToolSpec
from llm_gateway.backends.base import GENERATION_PARAMS
from llm_gateway.errors import InvalidRequest
from llm_gateway.protocol.messages import CountTokensRequest, MessagesRequest
from llm_gateway.routes.parsing import parse_json
from llm_gateway.translate.messages import Translation, generation_request, messages

from ..support.claude_code import claude_code_request

EVERYTHING = GENERATION_PARAMS | {"top_k", "parallel_tool_calls"}
LOOKUP = {"name": "lookup", "description": "Find it.", "input_schema": {"type": "object"}}


def translate(body: dict[str, Any], honoured: frozenset[str] = EVERYTHING) -> Translation:
    return generation_request(parse_json(orjson.dumps(body), MessagesRequest), honoured=honoured)


def request(**fields: Any) -> dict[str, Any]:
    return {
        "model": "m",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
        **fields,
    }


def turns(*messages: dict[str, Any], **fields: Any) -> tuple[Message, ...]:
    found = translate(request(messages=list(messages), **fields)).request.messages
    assert found is not None
    return found


def test_claude_code_conversation_becomes_chat_messages() -> None:
    out = translate(claude_code_request())
    found = out.request.messages
    assert found is not None
    assert [m.role for m in found] == [
        "system",
        "user",
        "assistant",
        "tool",
        "user",
        "system",
        "user",
    ]
    system, user, assistant, tool, after_tool, mid_system, last = found
    assert system.content == (
        "x-anthropic-billing-header: cc_version=2.1.0;\n\n"
        "You are Claude Code, Anthropic's official CLI for Claude.\n\n"
        "You are an interactive CLI tool that helps users with software engineering tasks."
    )
    assert user.content.endswith("</system-reminder>\n\nWhat does main.py print?")
    assert assistant.content == "Let me read it."  # the thinking block is not shown
    assert assistant.tool_calls == (
        {
            "id": "toolu_01A09q90qw90lq917835lq9",
            "type": "function",
            "function": {"name": "Read", "arguments": '{"file_path": "/repo/main.py"}'},
        },
    )
    assert tool == Message(
        role="tool", content="     1\tprint('hi')", tool_call_id="toolu_01A09q90qw90lq917835lq9"
    )
    assert after_tool == Message(role="user", content="Answer briefly.")
    assert mid_system == Message(role="system", content="The user switched to plan mode.")
    assert last == Message(role="user", content="And now?")
    assert out.request.max_tokens == 128000
    assert out.request.model == "claude-sonnet-4-5-20250929"
    assert out.request.tool_choice == "auto"
    assert [t.name for t in out.request.tools][:2] == ["Task", "Bash"]
    assert out.ignored == {
        "thinking",
        "cache_control",
        "context_management",
        "output_config.effort",
    }


def test_system_string_leads() -> None:
    found = turns({"role": "user", "content": "hi"}, system="Be brief.")
    assert found[0] == Message(role="system", content="Be brief.")


def test_tool_results_keep_their_place_among_the_turns_text() -> None:
    content = [
        {"type": "tool_result", "tool_use_id": "a", "content": "one"},
        {"type": "tool_result", "tool_use_id": "b", "content": [{"type": "text", "text": "t"}]},
        {"type": "text", "text": "x"},
        {"type": "text", "text": "y"},
        {"type": "tool_result", "tool_use_id": "c", "is_error": True, "content": "boom"},
        {"type": "tool_result", "tool_use_id": "d"},
    ]
    assert turns({"role": "user", "content": content}) == (
        Message(role="tool", content="one", tool_call_id="a"),
        Message(role="tool", content="t", tool_call_id="b"),
        Message(role="user", content="x\n\ny"),
        Message(role="tool", content="Error: boom", tool_call_id="c"),
        Message(role="tool", content="", tool_call_id="d"),
    )


def test_tool_use_input_becomes_json_arguments() -> None:
    calls = [
        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"q": "é", "n": [1, 2]}},
        {"type": "tool_use", "id": "toolu_2", "name": "g", "input": {}},
    ]
    (_, assistant) = turns(
        {"role": "user", "content": "go"}, {"role": "assistant", "content": calls}
    )
    assert assistant.content == ""
    assert [json.loads(c["function"]["arguments"]) for c in assistant.tool_calls] == [
        {"q": "é", "n": [1, 2]},
        {},
    ]
    assert [c["id"] for c in assistant.tool_calls] == ["toolu_1", "toolu_2"]


def test_an_assistant_turn_of_thinking_only_is_dropped() -> None:
    thinking = [
        {"type": "thinking", "thinking": "hm", "signature": "s"},
        {"type": "redacted_thinking", "data": "xyz"},
    ]
    found = turns(
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": thinking},
        {"role": "user", "content": "b"},
    )
    assert [m.role for m in found] == ["user", "user"]


@pytest.mark.parametrize(
    ("content", "param", "message"),
    [
        (
            [{"type": "text", "text": "x"}, {"type": "image", "source": {}}],
            "messages[2].content[1]",
            "This model accepts only text content; got an 'image' block.",
        ),
        (
            [{"type": "document", "source": {}}],
            "messages[2].content[0]",
            "This model accepts only text content; got a 'document' block.",
        ),
        (
            [{"type": "tool_result", "tool_use_id": "t", "content": [{"type": "image"}]}],
            "messages[2].content[0].content[0]",
            "This model accepts only text content; got an 'image' block.",
        ),
        (
            [{"type": "tool_use", "id": "t", "name": "f", "input": {}}],
            "messages[2].content[0]",
            "A 'tool_use' block belongs in an assistant turn; got one at messages[2].content[0].",
        ),
    ],
)
def test_non_text_blocks_are_refused_naming_the_block(
    content: list[dict[str, Any]], param: str, message: str
) -> None:
    body = request(
        messages=[
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b"},
            {"role": "user", "content": content},
        ]
    )
    with pytest.raises(InvalidRequest) as info:
        translate(body)
    assert (info.value.status, info.value.param, info.value.message) == (400, param, message)


def test_an_image_in_an_assistant_turn_is_refused_too() -> None:
    body = request(messages=[{"role": "assistant", "content": [{"type": "image", "source": {}}]}])
    with pytest.raises(InvalidRequest) as info:
        translate(body)
    assert info.value.param == "messages[0].content[0]"


def test_sampling_and_stops_pass_through() -> None:
    out = translate(
        request(temperature=0.2, top_p=0.9, top_k=20, stop_sequences=["\n\nHuman:", "END"])
    )
    req = out.request
    assert (req.temperature, req.top_p, req.top_k) == (0.2, 0.9, 20)
    assert req.stop == ("\n\nHuman:", "END")
    assert req.max_tokens == 64
    assert out.ignored == set()


def test_top_k_zero_means_no_cut() -> None:
    out = translate(request(top_k=0), honoured=frozenset())
    assert (out.request.top_k, out.ignored) == (None, set())


def test_what_the_backend_does_not_honour_is_named() -> None:
    out = translate(
        request(
            temperature=0.5,
            top_k=5,
            tools=[LOOKUP],
            tool_choice={"type": "auto", "disable_parallel_tool_use": True},
        ),
        honoured=frozenset({"seed"}),
    )
    assert out.ignored == {
        "temperature",
        "top_k",
        "tools",
        "tool_choice",
        "tool_choice.disable_parallel_tool_use",
    }


def test_tools_become_tool_specs() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
    tools = [
        {"name": "lookup", "description": "Find it.", "input_schema": schema, "strict": True},
        {"type": "web_search_20250305", "name": "web_search"},
    ]
    out = translate(request(tools=tools))
    assert out.request.tools == (ToolSpec("lookup", "Find it.", schema, True),)
    assert out.ignored == {"tools.web_search_20250305"}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (None, "auto"),
        ({"type": "auto"}, "auto"),
        ({"type": "any"}, "required"),
        ({"type": "tool", "name": "lookup"}, "lookup"),
        ({"type": "none"}, "none"),
    ],
)
def test_tool_choice(choice: dict[str, Any] | None, expected: str) -> None:
    fields: dict[str, Any] = {"tools": [LOOKUP]}
    if choice is not None:
        fields["tool_choice"] = choice
    assert translate(request(**fields)).request.tool_choice == expected


def test_no_client_tools_means_tool_choice_none() -> None:
    assert translate(request()).request.tool_choice == "none"
    only_server = request(tools=[{"type": "bash_20250124", "name": "bash"}])
    assert translate(only_server).request.tool_choice == "none"


def test_forcing_a_server_tool_is_refused() -> None:
    body = request(
        tools=[LOOKUP, {"type": "web_search_20250305", "name": "web_search"}],
        tool_choice={"type": "tool", "name": "web_search"},
    )
    with pytest.raises(InvalidRequest) as info:
        translate(body)
    assert info.value.param == "tool_choice.name"


def test_output_format_asks_for_json_schema() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    out = translate(request(output_config={"format": {"type": "json_schema", "schema": schema}}))
    assert (out.request.response_format, out.request.json_schema) == ("json_schema", schema)
    assert out.ignored == set()
    unsupported = translate(
        request(output_config={"format": {"type": "json_schema", "schema": schema}}),
        honoured=frozenset(),
    )
    assert unsupported.ignored == {"output_config.format"}


def test_count_tokens_sees_the_same_prompt() -> None:
    body = claude_code_request()
    full = translate(body).request.messages
    for field in ("max_tokens", "stream", "metadata"):
        body.pop(field)
    counted = messages(parse_json(orjson.dumps(body), CountTokensRequest))
    assert counted == full


def test_a_deferred_tool_is_not_shown_to_the_model() -> None:
    """Anthropic loads a `defer_loading` tool only once a tool search finds it; there is no
    tool search here, so the model is not shown it (Claude Code's is a placeholder)."""
    from llm_gateway.protocol.messages import MessagesRequest
    from llm_gateway.translate.messages import tools

    req = MessagesRequest.model_validate(
        {
            "model": "m",
            "max_tokens": 8,
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [
                {"name": "shown", "input_schema": {"type": "object"}},
                {"name": "later", "input_schema": {"type": "object"}, "defer_loading": True},
            ],
        }
    )
    assert [t.name for t in tools(req)] == ["shown"]
