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
        (("stop", "list[str]", 1), "stop"),
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
