"""The Responses API and embeddings on the real default model: forced function calls and
`text.format` json_schema are grammar-constrained, as in chat; embeddings come from mean
pooling (similar sentences are closer than unrelated ones)."""

from __future__ import annotations

import json
import math

import jsonschema
import openai
import pytest

from ..support.schemas import WEATHER as LOOSE_WEATHER
from ..support.spec import SpecValidator

WEATHER = {**LOOSE_WEATHER, "additionalProperties": False}

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}


def test_a_forced_function_call_has_arguments_that_validate(
    llm: openai.OpenAI, spec: SpecValidator
) -> None:
    tool = {"type": "function", "name": "get_weather", "parameters": WEATHER, "strict": True}
    response = llm.responses.create(
        model="gpt-3.5-turbo",
        input="What is the weather like in Paris today?",
        tools=[tool],  # type: ignore[list-item]
        tool_choice={"type": "function", "name": "get_weather"},
        max_output_tokens=64,
        temperature=0,
    )
    spec.validate("Response", response.model_dump(exclude_unset=True, by_alias=True))
    (call,) = [item for item in response.output if item.type == "function_call"]
    assert call.name == "get_weather"
    jsonschema.validate(json.loads(call.arguments), WEATHER)
    follow_up = llm.responses.create(
        model="gpt-3.5-turbo",
        previous_response_id=response.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "18 C"}],
        max_output_tokens=32,
    )
    assert follow_up.status in {"completed", "incomplete"}
    assert follow_up.output_text


def test_text_format_json_schema_output_validates(llm: openai.OpenAI, spec: SpecValidator) -> None:
    stream = llm.responses.create(
        model="gpt-3.5-turbo",
        input="Alice is 30 years old. Describe her as JSON.",
        text={"format": {"type": "json_schema", "name": "person", "schema": PERSON}},
        max_output_tokens=64,
        temperature=0,
        stream=True,
    )
    final = None
    for event in stream:
        if event.type in {"response.completed", "response.incomplete"}:
            final = event.response
    assert final is not None and final.status == "completed"
    spec.validate("Response", final.model_dump(exclude_unset=True, by_alias=True))
    jsonschema.validate(json.loads(final.output_text), PERSON)


def test_embeddings_put_similar_sentences_closer(llm: openai.OpenAI, spec: SpecValidator) -> None:
    texts = [
        "The cat sat on the mat.",
        "A kitten is resting on a rug.",
        "Interest rates rose sharply this quarter.",
    ]
    result = llm.embeddings.create(model="gpt-3.5-turbo", input=texts, encoding_format="float")
    spec.validate("CreateEmbeddingResponse", result.model_dump(exclude_unset=True, by_alias=True))
    vectors = [d.embedding for d in result.data]
    assert all(math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-3) for v in vectors)

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cos(vectors[0], vectors[1]) > cos(vectors[0], vectors[2])
    assert result.usage.prompt_tokens > 0
    with pytest.raises(openai.BadRequestError) as info:
        llm.embeddings.create(model="gpt-3.5-turbo", input="x", dimensions=64)
    assert info.value.body["param"] == "dimensions"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as info:
        llm.embeddings.create(model="gpt-3.5-turbo", input="word " * 600)
    assert info.value.body["code"] == "context_length_exceeded"  # type: ignore[index]
