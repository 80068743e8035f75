from __future__ import annotations

import pytest

from llm_gateway.errors import InvalidRequest
from llm_gateway.protocol.chat import ChatCompletionRequest
from llm_gateway.routes.parsing import param_path, parse_json


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        (("temperature",), "temperature"),
        (("messages", 0, "content"), "messages[0].content"),
        (("messages", 2, "content", "str"), "messages[2].content"),
        (("stop", "list[str]", 1), "stop[1]"),
        (("input", "list[tagged-union[A,B]]", 2, "message", "content"), "input[2].content"),
        ((), None),
    ],
)
def test_param_names_the_field(loc: tuple[int | str, ...], expected: str | None) -> None:
    assert param_path(loc) == expected


def test_unknown_fields_are_kept_not_rejected() -> None:
    req = parse_json(
        b'{"model":"m","messages":[{"role":"user","content":"hi"}],"frobnicate":true}',
        ChatCompletionRequest,
    )
    assert "frobnicate" in req.given_fields()


def test_max_completion_tokens_wins_over_max_tokens() -> None:
    req = parse_json(
        b'{"model":"m","messages":[{"role":"user","content":"hi"}],'
        b'"max_tokens":5,"max_completion_tokens":9}',
        ChatCompletionRequest,
    )
    assert req.token_limit == 9


def test_text_parts_are_joined() -> None:
    req = parse_json(
        b'{"model":"m","messages":[{"role":"user","content":'
        b'[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}',
        ChatCompletionRequest,
    )
    assert req.messages[0].text() == "ab"


def test_strings_are_not_coerced_to_numbers() -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_json(
            b'{"model":"m","messages":[{"role":"user","content":"x"}],"n":"2"}',
            ChatCompletionRequest,
        )
    assert info.value.param == "n"


@pytest.mark.parametrize(
    "body", [b'{"stream_options":{"include_usage":true}}', b'{"stream":false,"stream_options":{}}']
)
def test_stream_options_without_stream_is_refused_naming_it(body: bytes) -> None:
    base = b'{"model":"m","messages":[{"role":"user","content":"x"}],'
    with pytest.raises(InvalidRequest) as info:
        parse_json(base + body[1:], ChatCompletionRequest)
    assert info.value.param == "stream_options"


def test_a_union_error_names_the_deepest_field() -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_json(
            b'{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":5}]}]}',
            ChatCompletionRequest,
        )
    assert info.value.param == "messages[0].content[0].text"
