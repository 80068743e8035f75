"""Hypothesis strategies: arbitrary JSON values, valid requests, and valid requests with
one part replaced by an arbitrary JSON value."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

from llm_gateway.protocol.chat import ChatCompletionRequest
from llm_gateway.protocol.completions import CompletionRequest

MODEL = "mock-model"

# Every field the request models know, so new fields are fuzzed without editing this file.
CHAT_FIELDS = tuple(ChatCompletionRequest.model_fields)
COMPLETION_FIELDS = tuple(CompletionRequest.model_fields)
NESTED_FIELDS = ("role", "content", "type", "text", "name", "function", "include_usage")

# Keys that look like token ids but are not plain ASCII numbers: superscripts, other
# scripts' digits, huge numbers.
digit_like = st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=6) | st.integers(
    4301, 6000
).map(lambda n: "9" * n)
keys = st.sampled_from(CHAT_FIELDS + COMPLETION_FIELDS + NESTED_FIELDS) | st.text(max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(keys | digit_like, children, max_size=4)
    ),
    max_leaves=12,
)

text = st.text(max_size=30)
user_message = st.fixed_dictionaries({"role": st.just("user"), "content": text})
messages = st.lists(
    st.one_of(
        user_message,
        st.fixed_dictionaries({"role": st.sampled_from(["system", "developer"]), "content": text}),
        st.fixed_dictionaries(
            {
                "role": st.just("user"),
                "content": st.lists(
                    st.fixed_dictionaries({"type": st.just("text"), "text": text}),
                    min_size=1,
                    max_size=3,
                ),
            }
        ),
        st.fixed_dictionaries({"role": st.just("assistant"), "content": text}),
        st.fixed_dictionaries(
            {
                "role": st.just("assistant"),
                "tool_calls": st.just(
                    [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "lookup", "arguments": "{}"},
                        }
                    ]
                ),
            }
        ),
        st.fixed_dictionaries(
            {"role": st.just("tool"), "tool_call_id": st.just("call_1"), "content": text}
        ),
    ),
    min_size=1,
    max_size=4,
)
TOOL = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "Look a word up.",
        "parameters": {"type": "object", "properties": {"word": {"type": "string"}}},
    },
}
sampling = {
    "stream": st.booleans(),
    "stream_options": st.fixed_dictionaries({"include_usage": st.booleans()}),
    "n": st.integers(1, 3),
    "stop": st.lists(st.text(min_size=1, max_size=4), min_size=1, max_size=4) | st.text(max_size=4),
    "max_tokens": st.integers(1, 20),
    "temperature": st.floats(0, 2),
    "top_p": st.floats(0, 1),
    "seed": st.integers(-(2**63), 2**63 - 1),  # int64, as the spec says
    "presence_penalty": st.floats(-2, 2),
    "frequency_penalty": st.floats(-2, 2),
    "logit_bias": st.dictionaries(
        st.integers(0, 50_000).map(str), st.floats(-100, 100), max_size=3
    ),
    "user": st.text(max_size=20),
}


def _top_logprobs_need_logprobs(body: dict[str, Any]) -> dict[str, Any]:
    if "top_logprobs" in body:
        body["logprobs"] = True
    return _stream_options_need_stream(body)


def _best_of_covers_n(body: dict[str, Any]) -> dict[str, Any]:
    """OpenAI refuses `best_of` below `n`."""
    if "best_of" in body:
        body["best_of"] = max(body["best_of"], body.get("n", 1))
    return body


def _stream_options_need_stream(body: dict[str, Any]) -> dict[str, Any]:
    """OpenAI refuses `stream_options` without `stream: true` (a 400 naming it)."""
    if "stream_options" in body:
        body["stream"] = True
    return body


chat_requests = st.fixed_dictionaries(
    {"model": st.just(MODEL), "messages": messages},
    optional={
        **sampling,
        "max_completion_tokens": st.integers(1, 20),
        "logprobs": st.just(True),
        "top_logprobs": st.integers(0, 5),
        "response_format": st.sampled_from(
            [
                {"type": "text"},
                {"type": "json_object"},
                {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}},
            ]
        ),
        "tools": st.just([TOOL]),
        "tool_choice": st.sampled_from(["none", "auto"]),
        "parallel_tool_calls": st.booleans(),
    },
).map(_top_logprobs_need_logprobs)


completion_requests = (
    st.fixed_dictionaries(
        {"model": st.just(MODEL), "prompt": text | st.lists(text, min_size=1, max_size=2)},
        optional={
            **sampling,
            "echo": st.booleans(),
            "suffix": text,
            "best_of": st.integers(1, 3),
            "logprobs": st.integers(0, 5),
        },
    )
    .map(_stream_options_need_stream)
    .map(_best_of_covers_n)
)


def paths(node: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every place in a JSON value: each key and index, at any depth."""
    items: Any = ()
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    for key, child in items:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


def replaced(body: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    node: Any = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


def renamed(body: dict[str, Any], path: tuple[str | int, ...], key: str) -> dict[str, Any]:
    out = copy.deepcopy(body)
    node: Any = out
    for part in path[:-1]:
        node = node[part]
    node[key] = node.pop(path[-1])
    return out


@st.composite
def mutated(
    draw: st.DrawFn, requests: st.SearchStrategy[dict[str, Any]], fields: tuple[str, ...]
) -> tuple[dict[str, Any], str]:
    """A valid request with one part replaced by an arbitrary JSON value, or one key renamed
    (`{"123": 5}` in `logit_bias` becomes `{"²": 5}`). The field is picked first, so deep
    ones (`messages`) don't crowd out the rest; then any place inside it, or a known field
    the request lacks. Returns the body and what was changed."""
    body = draw(requests)
    field = draw(st.sampled_from(sorted(set(body) | set(fields))))
    if field not in body:
        value = draw(json_values)
        return {**body, field: value}, f"added {field!r}"
    places = [(field,), *paths(body[field], (field,))]
    path = draw(st.sampled_from(places))
    if isinstance(path[-1], str) and draw(st.booleans()):
        key = draw(keys | digit_like)
        return renamed(body, path, key), f"renamed {path} to {key[:20]!r}"
    return replaced(body, path, draw(json_values)), f"replaced {path}"


# Values at and just past the edges: limits of integer types, integral and negative zero
# floats, strings that look like numbers in other scripts, huge numbers, empty containers.
BOUNDARY_VALUES: tuple[Any, ...] = (
    None,
    True,
    0,
    -1,
    1.0,
    -0.0,
    0.5,
    2**31,
    2**63,
    -(2**63) - 1,
    10**30,
    1e308,
    5e-324,
    "",
    "0",
    "²",
    "\u0661\u0662",
    "9" * 5000,
    "\x00",
    "x" * 5000,
    [],
    [None],
    [""] * 5,
    {},
    {"": None},
    {"²": 1},
    {"\u0661": 1},  # ARABIC-INDIC DIGIT ONE
    {"9" * 5000: 1},
    {"-1": 1},
    {"1": 101},
)
