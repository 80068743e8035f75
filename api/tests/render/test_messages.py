"""The Messages renderer: Anthropic's body and event sequence from a generation's deltas,
each body and event checked against the SDK's own types, and the stream read by the real SDK
giving back exactly the folded body."""

from __future__ import annotations

from typing import Any

import pytest

from llm_gateway.backends import Delta, ToolCallDelta
from llm_gateway.render.messages import MessagesRenderer, tool_input, tool_use_id

from ..support.anthropic_sdk import client, named_events, sdk_event, sdk_message
from .fakes import FakeGeneration


def call(index: int = 0, **fields: Any) -> Delta:
    return Delta(tool_calls=[ToolCallDelta(index, **fields)])


TEXT = [
    Delta(prompt_tokens=11),  # a backend may tell the prompt's size before any text
    Delta(text="Hel"),
    Delta(text='lo, "wörld"\n</script>'),
    Delta(text="!", finish_reason="stop", completion_tokens=7),
]
STOP_SEQUENCE = [Delta(text="one two"), Delta(finish_reason="stop", stop_sequence="three")]
MAX_TOKENS = [Delta(text="cut sh"), Delta(finish_reason="length")]
TOOL_USE = [
    Delta(text="Let me read it."),
    call(id="call_abc", name="Read"),
    call(arguments='{"file_'),
    call(arguments='path": "/repo/main.py", '),
    call(arguments='"limit": 20}'),
    call(1, id="call_def", name="Glob", arguments='{"pattern": "*.py"}'),
    Delta(finish_reason="tool_calls"),
]
CASES = {
    "text": (TEXT, "end_turn", None),
    "stop_sequence": (STOP_SEQUENCE, "stop_sequence", "three"),
    "max_tokens": (MAX_TOKENS, "max_tokens", None),
    "tool_use": (TOOL_USE, "tool_use", None),
    "empty": ([Delta(finish_reason="stop")], "end_turn", None),
    "no_events": ([], "end_turn", None),
    "refusal": ([Delta(text="no"), Delta(finish_reason="content_filter")], "refusal", None),
}


async def render(deltas: list[Delta], **kw: Any) -> tuple[dict[str, Any], bytes]:
    body = await MessagesRenderer(FakeGeneration(deltas, **kw), message_id="msg_test").body()
    renderer = MessagesRenderer(FakeGeneration(deltas, **kw), message_id="msg_test")
    return body, b"".join([chunk async for chunk in renderer.sse()])


def sdk_final(stream: bytes) -> dict[str, Any]:
    """What the SDK's own accumulator makes of the stream."""
    sdk = client(200, stream, "text/event-stream")
    with sdk.messages.stream(
        model="local-model", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    ) as events:
        return events.get_final_message().to_dict()


@pytest.mark.parametrize("case", CASES)
async def test_body_is_an_sdk_message(case: str) -> None:
    deltas, stop_reason, stop_sequence = CASES[case]
    body, _ = await render(deltas)
    message = sdk_message(body)
    assert (message.stop_reason, message.stop_sequence) == (stop_reason, stop_sequence)
    assert message.id == "msg_test" and message.model == "local-model"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (11, 7)
    assert message.usage.cache_read_input_tokens == 0
    assert message.usage.cache_creation_input_tokens == 0


@pytest.mark.parametrize("case", CASES)
async def test_every_event_is_an_sdk_stream_event_and_the_sdk_folds_it_to_the_body(
    case: str,
) -> None:
    body, stream = await render(CASES[case][0])
    events = named_events(stream)
    for name, payload in events:
        assert name == payload["type"]
        sdk_event(payload)
    assert sdk_final(stream) == body


@pytest.mark.parametrize("case", CASES)
async def test_events_come_in_anthropics_order(case: str) -> None:
    _, stream = await render(CASES[case][0])
    names = [name for name, _ in named_events(stream)]
    assert names[0] == "message_start"
    assert names[-2:] == ["message_delta", "message_stop"]
    open_block: int | None = None
    next_block = 0
    for name, payload in named_events(stream)[1:-2]:
        if name == "content_block_start":
            assert open_block is None and payload["index"] == next_block
            open_block = next_block
            next_block += 1
        else:
            assert name in {"content_block_delta", "content_block_stop"}
            assert payload["index"] == open_block
            if name == "content_block_stop":
                open_block = None
    assert open_block is None


async def test_message_start_is_empty_and_counts_the_prompt() -> None:
    _, stream = await render(TEXT)
    (_, start), *_ = named_events(stream)
    message = start["message"]
    assert message["content"] == [] and message["stop_reason"] is None
    assert message["usage"]["input_tokens"] == 11


async def test_text_streams_as_text_deltas() -> None:
    body, stream = await render(TEXT)
    deltas = [p["delta"] for n, p in named_events(stream) if n == "content_block_delta"]
    assert deltas == [
        {"type": "text_delta", "text": "Hel"},
        {"type": "text_delta", "text": 'lo, "wörld"\n</script>'},
        {"type": "text_delta", "text": "!"},
    ]
    assert body["content"] == [{"type": "text", "text": 'Hello, "wörld"\n</script>!'}]


async def test_message_delta_carries_the_stop_and_the_usage() -> None:
    _, stream = await render(STOP_SEQUENCE)
    name, payload = named_events(stream)[-2]
    assert name == "message_delta"
    assert payload["delta"]["stop_reason"] == "stop_sequence"
    assert payload["delta"]["stop_sequence"] == "three"
    assert payload["usage"]["output_tokens"] == 7


async def test_tool_calls_become_tool_use_blocks() -> None:
    body, stream = await render(TOOL_USE)
    assert body["content"] == [
        {"type": "text", "text": "Let me read it."},
        {
            "type": "tool_use",
            "id": "toolu_abc",
            "name": "Read",
            "input": {"file_path": "/repo/main.py", "limit": 20},
        },
        {"type": "tool_use", "id": "toolu_def", "name": "Glob", "input": {"pattern": "*.py"}},
    ]
    partials = [
        p["delta"]["partial_json"]
        for n, p in named_events(stream)
        if n == "content_block_delta" and p["index"] == 1
    ]
    assert partials == ['{"file_', 'path": "/repo/main.py", ', '"limit": 20}']


async def test_arguments_that_are_not_an_object_become_empty_input_and_are_never_streamed() -> None:
    deltas = [
        call(id="call_1", name="Read"),
        call(arguments="not json"),
        Delta(finish_reason="tool_calls"),
    ]
    body, stream = await render(deltas)
    assert body["content"][0]["input"] == {}
    assert not [p for n, p in named_events(stream) if n == "content_block_delta"]
    assert sdk_final(stream) == body


async def test_a_call_cut_by_max_tokens_keeps_its_complete_fields_like_the_sdk() -> None:
    deltas = [
        call(id="call_1", name="Write", arguments='{"file_path": "/a.txt", '),
        call(arguments='"content": "half of it'),
        Delta(finish_reason="length"),
    ]
    body, stream = await render(deltas)
    assert body["stop_reason"] == "max_tokens"
    assert body["content"][0]["input"] == {"file_path": "/a.txt"}
    assert sdk_final(stream) == body


async def test_text_after_a_tool_call_opens_a_new_block() -> None:
    deltas = [
        call(id="c", name="f", arguments="{}"),
        Delta(text="done"),
        Delta(finish_reason="stop"),
    ]
    body, stream = await render(deltas)
    assert [b["type"] for b in body["content"]] == ["tool_use", "text"]
    assert body["stop_reason"] == "tool_use"
    assert sdk_final(stream) == body


async def test_only_choice_zero_is_rendered() -> None:
    body, stream = await render(TEXT, other_choices=True)
    assert "not mine" not in str(body) and b"not mine" not in stream


@pytest.mark.parametrize("streaming", [True, False])
async def test_the_finished_message_is_completed_before_the_client_is_told(
    streaming: bool,
) -> None:
    generation = FakeGeneration(TOOL_USE)
    renderer = MessagesRenderer(generation)
    if not streaming:
        body = await renderer.body()
        assert generation.completed == [body]
        return
    async for chunk in renderer.sse():
        if chunk.startswith(b"event: message_stop"):
            assert len(generation.completed) == 1
    (body,) = generation.completed
    sdk_message(body)
    assert body["stop_reason"] == "tool_use"


def test_ids_look_like_anthropics() -> None:
    assert MessagesRenderer(FakeGeneration([])).id.startswith("msg_")
    assert tool_use_id("call_xyz") == "toolu_xyz"
    assert tool_use_id("toolu_xyz") == "toolu_xyz"
    assert tool_use_id("abc") == "toolu_abc"
    assert tool_use_id(None).startswith("toolu_")


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('  {"a": [1, 2]} ', {"a": [1, 2]}),
        ('{"a": 1, "b": "cu', {"a": 1}),
        ("", {}),
        ("[1, 2]", {}),
        ('"text"', {}),
        ("{not json", {}),
    ],
)
def test_tool_input(arguments: str, expected: dict[str, Any]) -> None:
    assert tool_input(arguments) == expected
