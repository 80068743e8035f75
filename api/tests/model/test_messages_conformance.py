"""The Messages API's conformance, the same checks on the mock and on the real default model
(llama): bodies and events validated by the anthropic SDK's own types, streamed equals folded,
stop reasons, count_tokens equal to the usage of the same prompt, a prompt over the context
refused; and on llama, tools forced by grammar (`any`, `tool`) always give a `tool_use` whose
input matches its schema."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import jsonschema
import pytest

from ..support.anthropic_sdk import named_events, sdk_event, sdk_message
from ..support.schemas import ADD, WEATHER
from ..support.server import ServerProcess

TOOLS: list[Any] = [
    {"name": "get_weather", "description": "Weather in a city.", "input_schema": WEATHER},
    {"name": "add", "description": "Add two numbers.", "input_schema": ADD},
]
SCHEMAS = {"get_weather": WEATHER, "add": ADD}
ASK = [{"role": "user", "content": "What is the weather like in Paris today?"}]
GREEDY = {"temperature": 0}  # the anthropic SDK 2.x has no `temperature`; the server takes it


pytestmark = pytest.mark.server


@pytest.fixture(params=["mock", pytest.param("llama", marks=pytest.mark.model)])
def server(request: pytest.FixtureRequest) -> tuple[ServerProcess, str]:
    if request.param == "mock":
        return request.getfixturevalue("mock_server"), "mock-model"
    return request.getfixturevalue("llama_server"), "smollm2"


def client(server: ServerProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.base_url, api_key="unused", max_retries=0)


def post(server: ServerProcess, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(server.base_url + "/v1/messages", json=body, timeout=120)


def test_the_message_and_its_stream_agree(server: tuple[ServerProcess, str]) -> None:
    process, model = server
    body = {"model": model, "max_tokens": 12, "messages": ASK, "temperature": 0}
    folded = post(process, body)
    assert folded.status_code == 200, folded.text
    message = sdk_message(folded.json())
    streamed = post(process, {**body, "stream": True})
    events = named_events(streamed.content)
    for name, payload in events:
        assert payload["type"] == name
        sdk_event(payload)
    text = "".join(p["delta"]["text"] for n, p in events if n == "content_block_delta")
    assert text == message.content[0].text  # type: ignore[union-attr]
    assert events[-2][1]["delta"]["stop_reason"] == message.stop_reason
    assert message.usage.output_tokens <= 12


def test_max_tokens_ends_with_its_stop_reason(server: tuple[ServerProcess, str]) -> None:
    process, model = server
    message = client(process).messages.create(
        model=model,
        max_tokens=3,
        messages=ASK,
        extra_body=GREEDY,  # type: ignore[arg-type]
    )
    assert message.stop_reason == "max_tokens" and message.usage.output_tokens == 3


def test_a_stop_sequence_ends_the_message(server: tuple[ServerProcess, str]) -> None:
    process, model = server
    sdk = client(process)
    whole = sdk.messages.create(
        model=model,
        max_tokens=12,
        messages=ASK,
        extra_body=GREEDY,  # type: ignore[arg-type]
    )
    text = whole.content[0].text  # type: ignore[union-attr]
    word = text.split()[1]
    cut = sdk.messages.create(
        model=model,
        max_tokens=12,
        messages=ASK,  # type: ignore[arg-type]
        extra_body=GREEDY,
        stop_sequences=[word],
    )
    assert cut.stop_reason == "stop_sequence" and cut.stop_sequence == word
    assert cut.content[0].text == text[: text.index(word)]  # type: ignore[union-attr]


def test_count_tokens_is_the_prompt_the_model_reads(server: tuple[ServerProcess, str]) -> None:
    process, model = server
    sdk = client(process)
    counted = sdk.messages.count_tokens(model=model, messages=ASK)  # type: ignore[arg-type]
    message = sdk.messages.create(model=model, max_tokens=2, messages=ASK)  # type: ignore[arg-type]
    # Anthropic counts the prompt tokens a server held in its cache apart from the others.
    read = message.usage.cache_read_input_tokens or 0
    assert counted.input_tokens == message.usage.input_tokens + read
    assert message.usage.input_tokens > 0


def test_a_prompt_over_the_context_is_a_400(llama_server: ServerProcess) -> None:
    """(The mock's window is far larger than the test server's body limit.)"""
    long = [{"role": "user", "content": "word " * 5000}]
    with pytest.raises(anthropic.BadRequestError) as info:
        client(llama_server).messages.create(model="smollm2", max_tokens=8, messages=long)  # type: ignore[arg-type]
    assert info.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert "maximum context length is 2048 tokens" in info.value.body["error"]["message"]  # type: ignore[index]


@pytest.mark.parametrize(
    "tool_choice",
    [{"type": "any"}, {"type": "tool", "name": "add"}, {"type": "tool", "name": "get_weather"}],
)
def test_forced_tools_always_give_a_valid_tool_use(
    llama_server: ServerProcess, tool_choice: dict[str, str]
) -> None:
    body = {
        "model": "smollm2",
        "max_tokens": 80,
        "temperature": 0,
        "messages": ASK,
        "tools": TOOLS,
        "tool_choice": tool_choice,
    }
    for stream in (False, True):
        r = post(llama_server, {**body, "stream": stream})
        assert r.status_code == 200, r.text
        if stream:
            events = named_events(r.content)
            for _, payload in events:
                sdk_event(payload)
            sdk_body = {k: v for k, v in body.items() if k != "temperature"}
            with client(llama_server).messages.stream(**sdk_body, extra_body=GREEDY) as s:  # type: ignore[arg-type]
                message = s.get_final_message()
        else:
            message = sdk_message(r.json())
        assert message.stop_reason == "tool_use"
        (call,) = [b for b in message.content if b.type == "tool_use"]
        if tool_choice["type"] == "tool":
            assert call.name == tool_choice["name"]
        jsonschema.validate(call.input, SCHEMAS[call.name])
