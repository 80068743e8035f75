"""Table of malformed requests against a real gunicorn server: each gets the right status
and an OpenAI error object, and the server keeps serving normal requests afterwards."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from ..support.server import ServerProcess
from ..support.spec import SpecValidator

OK_MSG = [{"role": "user", "content": "hi"}]


def chat(**fields: Any) -> bytes:
    return json.dumps({"model": "mock-model", "messages": OK_MSG, **fields}).encode()


def deep(depth: int) -> bytes:
    return b'{"model":"mock-model","messages":' + b"[" * depth + b"]" * depth + b"}"


# (name, method, path, body, status, param)
CASES: list[tuple[str, str, str, bytes | None, int, str | None]] = [
    ("invalid json", "POST", "/v1/chat/completions", b"{nope", 400, None),
    ("truncated json", "POST", "/v1/chat/completions", b'{"model": "mock-model", "mess', 400, None),
    ("empty body", "POST", "/v1/chat/completions", b"", 400, None),
    ("json array body", "POST", "/v1/chat/completions", b"[1,2]", 400, None),
    ("json string body", "POST", "/v1/chat/completions", b'"hello"', 400, None),
    ("non-utf8 bytes", "POST", "/v1/chat/completions", b'{"model":"\xff\xfe"}', 400, None),
    ("deeply nested json", "POST", "/v1/chat/completions", deep(5000), 400, None),
    ("missing model", "POST", "/v1/chat/completions", b'{"messages":[]}', 400, "model"),
    (
        "missing messages",
        "POST",
        "/v1/chat/completions",
        b'{"model":"mock-model"}',
        400,
        "messages",
    ),
    ("empty messages", "POST", "/v1/chat/completions", chat(messages=[]), 400, "messages"),
    ("messages not a list", "POST", "/v1/chat/completions", chat(messages="hi"), 400, "messages"),
    (
        "unknown role",
        "POST",
        "/v1/chat/completions",
        chat(messages=[{"role": "wizard", "content": "x"}]),
        400,
        "messages[0].role",
    ),
    (
        "content wrong type",
        "POST",
        "/v1/chat/completions",
        chat(messages=[{"role": "user", "content": 42}]),
        400,
        "messages[0].content",
    ),
    (
        "content part without text",
        "POST",
        "/v1/chat/completions",
        chat(messages=[{"role": "user", "content": [{"type": "text"}]}]),
        400,
        "messages[0].content[0]",
    ),
    (
        "user message without content",
        "POST",
        "/v1/chat/completions",
        chat(messages=[{"role": "user"}]),
        400,
        "messages[0]",
    ),
    (
        "tool message without id",
        "POST",
        "/v1/chat/completions",
        chat(messages=[{"role": "tool", "content": "x"}]),
        400,
        "messages[0]",
    ),
    ("model wrong type", "POST", "/v1/chat/completions", chat(model=5), 400, "model"),
    ("n zero", "POST", "/v1/chat/completions", chat(n=0), 400, "n"),
    ("n over server limit", "POST", "/v1/chat/completions", chat(n=100), 400, "n"),
    ("n as string", "POST", "/v1/chat/completions", chat(n="2"), 400, "n"),
    ("temperature 5", "POST", "/v1/chat/completions", chat(temperature=5), 400, "temperature"),
    ("top_p negative", "POST", "/v1/chat/completions", chat(top_p=-0.1), 400, "top_p"),
    ("max_tokens -1", "POST", "/v1/chat/completions", chat(max_tokens=-1), 400, "max_tokens"),
    (
        "max_completion_tokens float",
        "POST",
        "/v1/chat/completions",
        chat(max_completion_tokens=1.5),
        400,
        "max_completion_tokens",
    ),
    (
        "presence_penalty 3",
        "POST",
        "/v1/chat/completions",
        chat(presence_penalty=3),
        400,
        "presence_penalty",
    ),
    ("stream not bool", "POST", "/v1/chat/completions", chat(stream="yes"), 400, "stream"),
    ("five stop sequences", "POST", "/v1/chat/completions", chat(stop=list("abcde")), 400, "stop"),
    ("stop wrong type", "POST", "/v1/chat/completions", chat(stop=7), 400, "stop"),
    (
        "logit_bias bad key",
        "POST",
        "/v1/chat/completions",
        chat(logit_bias={"abc": 1}),
        400,
        "logit_bias",
    ),
    (
        "top_logprobs without logprobs",
        "POST",
        "/v1/chat/completions",
        chat(top_logprobs=2),
        400,
        None,
    ),
    (
        "response_format unknown type",
        "POST",
        "/v1/chat/completions",
        chat(response_format={"type": "yaml"}),
        400,
        "response_format.type",
    ),
    (
        "tool_choice names a missing tool",
        "POST",
        "/v1/chat/completions",
        chat(tool_choice={"type": "function", "function": {"name": "nope"}}),
        400,
        None,
    ),
    ("unknown model", "POST", "/v1/chat/completions", chat(model="nope"), 404, "model"),
    (
        "completions prompt missing",
        "POST",
        "/v1/completions",
        b'{"model":"mock-model"}',
        400,
        "prompt",
    ),
    (
        "completions prompt wrong type",
        "POST",
        "/v1/completions",
        b'{"model":"mock-model","prompt":{"a":1}}',
        400,
        "prompt",
    ),
    ("oversized body", "POST", "/v1/chat/completions", chat(pad="x" * 70_000), 413, None),
    ("unknown route", "GET", "/v1/nothing-here", None, 404, None),
    ("wrong method", "PUT", "/v1/chat/completions", None, 405, None),
    ("delete models", "DELETE", "/v1/models", None, 405, None),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "param"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_bad_input_gets_an_openai_error(
    mock_server: ServerProcess,
    spec: SpecValidator,
    method: str,
    path: str,
    body: bytes | None,
    status: int,
    param: str | None,
) -> None:
    r = httpx.request(
        method,
        mock_server.base_url + path,
        content=body,
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert r.status_code == status, r.text
    payload = r.json()
    spec.validate("ErrorResponse", payload)
    error = payload["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    assert error["code"] is None or isinstance(error["code"], str)
    assert error["type"] == "invalid_request_error"
    if param is not None:
        assert error["param"] == param


def test_there_are_at_least_25_cases() -> None:
    assert len(CASES) >= 25


def test_server_still_serves_after_bad_input(mock_server: ServerProcess) -> None:
    for case in CASES:
        httpx.request(case[1], mock_server.base_url + case[2], content=case[3], timeout=10)
    r = httpx.post(
        mock_server.base_url + "/v1/chat/completions",
        json={"model": "mock-model", "messages": OK_MSG},
        timeout=10,
    )
    assert r.status_code == 200
    assert r.json()["choices"][0]["message"]["content"]
