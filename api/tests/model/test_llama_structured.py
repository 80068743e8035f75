"""Grammar-constrained output: JSON mode, JSON schema, and forced tool calls."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import openai
import pytest

from ..support.schemas import ADD, WEATHER
from ..support.spec import SpecValidator

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "city": {"type": "string"},
    },
    "required": ["name", "age", "city"],
    "additionalProperties": False,
}
TOOLS: list[Any] = [
    {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}},
    {"type": "function", "function": {"name": "add", "parameters": ADD}},
]
SCHEMAS = {"get_weather": WEATHER, "add": ADD}
ASK = [{"role": "user", "content": "What is the weather like in Paris today?"}]


def ask_with_tools(llm: openai.OpenAI, tool_choice: Any, **extra: Any) -> Any:
    """The weather question, with both tools on offer; greedy, 80 tokens unless `extra` says."""
    request = {"max_tokens": 80, "temperature": 0, **extra}
    return llm.chat.completions.create(
        model="smollm2", messages=ASK, tools=TOOLS, tool_choice=tool_choice, **request
    )


def test_json_object_output_parses(llm: openai.OpenAI) -> None:
    messages = [
        {
            "role": "user",
            "content": "Give a JSON object with keys name and age for Alice, who is 30.",
        }
    ]
    completion = llm.chat.completions.create(
        model="smollm2",
        messages=messages,  # type: ignore[arg-type]
        response_format={"type": "json_object"},
        max_tokens=120,
        temperature=0,
    )
    assert completion.choices[0].finish_reason == "stop"
    assert isinstance(json.loads(completion.choices[0].message.content or ""), dict)


@pytest.mark.parametrize("seed", [1, 2])
def test_json_schema_output_validates(llm: openai.OpenAI, seed: int) -> None:
    completion = llm.chat.completions.create(
        model="smollm2",
        messages=[{"role": "user", "content": "Describe a person."}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "person", "schema": PERSON, "strict": True},
        },
        max_tokens=120,
        seed=seed,
    )
    assert completion.choices[0].finish_reason == "stop"
    jsonschema.validate(json.loads(completion.choices[0].message.content or ""), PERSON)


@pytest.mark.parametrize(
    "tool_choice",
    ["required", {"type": "function", "function": {"name": "add"}}],
    ids=["required", "named"],
)
def test_forced_tool_call_validates(
    llm: openai.OpenAI, spec: SpecValidator, tool_choice: Any
) -> None:
    completion = ask_with_tools(llm, tool_choice)
    spec.validate("CreateChatCompletionResponse", completion.model_dump(exclude_unset=True))
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.type == "function"
    assert call.id.startswith("call_")
    if isinstance(tool_choice, dict):
        assert call.function.name == "add"
    jsonschema.validate(json.loads(call.function.arguments), SCHEMAS[call.function.name])


@pytest.mark.parametrize(
    "tool_choice",
    ["required", {"type": "function", "function": {"name": "get_weather"}}],
    ids=["required", "named"],
)
def test_forced_tool_call_streams_like_openai(
    llm: openai.OpenAI, spec: SpecValidator, tool_choice: Any
) -> None:
    stream = ask_with_tools(llm, tool_choice, stream=True)
    fragments: list[Any] = []
    finish = None
    for chunk in stream:
        spec.validate("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
        for choice in chunk.choices:
            fragments.extend(choice.delta.tool_calls or [])
            finish = choice.finish_reason or finish
    assert finish == "tool_calls"
    assert all(f.index == 0 for f in fragments)
    head, *rest = fragments
    assert head.id and head.id.startswith("call_")
    assert head.type == "function"
    assert head.function.name in SCHEMAS
    assert all(f.id is None and (f.function.name is None) for f in rest)
    assert len(rest) > 1, "arguments should arrive in several fragments"
    arguments = "".join((f.function.arguments or "") for f in fragments)
    jsonschema.validate(json.loads(arguments), SCHEMAS[head.function.name])


def test_tool_choice_none_answers_in_text(llm: openai.OpenAI) -> None:
    completion = ask_with_tools(llm, "none", max_tokens=20)
    assert completion.choices[0].message.tool_calls is None
    assert completion.choices[0].message.content
