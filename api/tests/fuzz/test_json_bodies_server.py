"""JSON bodies against both completion routes of a real server: arbitrary JSON values, valid
requests with one part replaced (or one key renamed), and every place of a full request set
to every boundary value. The answer is a 200 (a whole one: a stream ends with [DONE] and
carries no error event) or a 4xx OpenAI error object, never a 5xx, nothing is logged as a
server error, and the server still answers a normal request after."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import httpx
import pytest
from hypothesis import given, note, settings

from ..support.oracles import check_answer, openai_error
from ..support.sse import sse_payloads
from ..support.strategies import (
    BOUNDARY_VALUES,
    CHAT_FIELDS,
    COMPLETION_FIELDS,
    MODEL,
    chat_requests,
    completion_requests,
    json_values,
    mutated,
    paths,
    replaced,
)
from .conftest import FUZZ_SETTINGS

# Every test also fails if the server logged an error or a 5xx meanwhile.
pytestmark = pytest.mark.usefixtures("server_log")

EXAMPLES = 150  # per hypothesis test
CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"


def post(http: httpx.Client, path: str, body: Any) -> httpx.Response:
    content = json.dumps(body).encode()
    return http.post(path, content=content, headers={"content-type": "application/json"})


def check(r: httpx.Response, *, stream: bool) -> None:
    """The status and body rules, plus: a 200 is a whole answer (an SSE stream ends with
    [DONE] and carries no error event)."""
    check_answer(r.status_code, r.content, r.headers.get("content-type", ""))
    if r.status_code != 200:
        return
    if stream:
        events = sse_payloads(r.text)
        assert events[-1] == "[DONE]", events[-3:]
        for event in events[:-1]:
            assert "error" not in event, event
            assert "choices" in event, event
    else:
        assert r.json()["choices"], r.text


def still_serves(http: httpx.Client) -> None:
    r = post(http, CHAT, {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"]


def is_stream(body: Any) -> bool:
    return isinstance(body, dict) and body.get("stream") is True


@pytest.mark.parametrize("path", [CHAT, COMPLETIONS])
def test_arbitrary_json_gets_a_200_or_an_openai_4xx(
    http: httpx.Client, fuzz_cases: Counter[str], path: str
) -> None:
    @given(body=json_values)
    @settings(FUZZ_SETTINGS, max_examples=EXAMPLES)
    def run(body: Any) -> None:
        note(json.dumps(body)[:1000])
        fuzz_cases[f"json values: {path}"] += 1
        check(post(http, path, body), stream=is_stream(body))

    run()
    still_serves(http)


@pytest.mark.parametrize(
    ("path", "requests", "fields"),
    [
        (CHAT, chat_requests, CHAT_FIELDS),
        (COMPLETIONS, completion_requests, COMPLETION_FIELDS),
    ],
    ids=["chat", "completions"],
)
def test_a_valid_request_with_one_part_replaced_gets_a_200_or_an_openai_4xx(
    http: httpx.Client, fuzz_cases: Counter[str], path: str, requests: Any, fields: Any
) -> None:
    @given(case=mutated(requests, fields))
    @settings(FUZZ_SETTINGS, max_examples=EXAMPLES)
    def run(case: tuple[dict[str, Any], str]) -> None:
        body, change = case
        note(f"{change}: {json.dumps(body)[:1000]}")
        fuzz_cases[f"mutated requests: {path}"] += 1
        r = post(http, path, body)
        check(r, stream=is_stream(body))
        if r.status_code >= 400:
            assert openai_error(r.content)["type"] == "invalid_request_error"

    run()
    still_serves(http)


FULL_CHAT = {
    "model": MODEL,
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "hi"}], "name": "ann"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "42"},
    ],
    "stream_options": {"include_usage": True},
    "logit_bias": {"7": 1},
    "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}},
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
    "tool_choice": {"type": "function", "function": {"name": "f"}},
    "stop": ["a", "b"],
}
FULL_COMPLETION = {
    "model": MODEL,
    "prompt": ["a", "b"],
    "stream_options": {"include_usage": True},
    "logit_bias": {"7": 1},
    "stop": ["a", "b"],
}


@pytest.mark.parametrize(
    ("path", "base", "fields"),
    [(CHAT, FULL_CHAT, CHAT_FIELDS), (COMPLETIONS, FULL_COMPLETION, COMPLETION_FIELDS)],
    ids=["chat", "completions"],
)
def test_boundary_values_in_every_place_get_a_200_or_an_openai_4xx(
    http: httpx.Client, fuzz_cases: Counter[str], path: str, base: Any, fields: Any
) -> None:
    """Deterministic: every field and every place inside the request, each set to every
    boundary value in turn."""
    places = sorted(set(paths(base)) | {(f,) for f in fields}, key=repr)
    for place in places:
        for value in BOUNDARY_VALUES:
            body = replaced(base, place, value)
            fuzz_cases[f"boundary values: {path}"] += 1
            r = post(http, path, body)
            try:
                check(r, stream=is_stream(body))
            except AssertionError as exc:
                raise AssertionError(f"{place} = {str(value)[:40]!r}: {exc}") from None
    still_serves(http)


@pytest.mark.parametrize(
    ("path", "requests"),
    [(CHAT, chat_requests), (COMPLETIONS, completion_requests)],
    ids=["chat", "completions"],
)
def test_valid_requests_are_answered(
    http: httpx.Client, fuzz_cases: Counter[str], path: str, requests: Any
) -> None:
    """The generator of valid requests really makes valid ones (so mutations start from
    something the server accepts)."""

    @given(body=requests)
    @settings(FUZZ_SETTINGS, max_examples=EXAMPLES // 3)
    def run(body: dict[str, Any]) -> None:
        fuzz_cases[f"valid requests: {path}"] += 1
        r = post(http, path, body)
        assert r.status_code == 200, r.text
        check(r, stream=is_stream(body))

    run()
