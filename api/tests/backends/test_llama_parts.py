"""The llama backend's pure parts: tool-call streaming, call parsing; and with the default
model loaded in process, its chat template and its end tokens."""

from __future__ import annotations

import json

import pytest

from llm_gateway.backends import Message
from llm_gateway.backends.llama.constraints import CallStreamer, parse_call

from ..support.default_model import NEVER_END


@pytest.mark.parametrize(
    "pieces",
    [
        ['{"name": "add", "arguments": {"a": 1, "b": 2}}'],
        ['{"na', 'me": "ad', 'd", "argu', 'ments": {"a"', ": 1, ", '"b": 2', "}", "}"],
        ['{ "name": "add", "arguments": { "a": 1, "b": 2 }', " }"],
        ['{"name": "add", "arguments": {"a": 1, "b": 2}}}'[:-1]],
    ],
)
def test_call_streamer_yields_name_then_argument_fragments(pieces: list[str]) -> None:
    streamer = CallStreamer()
    names, arguments = [], []
    for piece in pieces:
        name, args = streamer.feed(piece)
        if name:
            names.append(name)
        arguments.append(args)
    arguments.append(streamer.finish())
    assert names == ["add"]
    assert json.loads("".join(arguments)) == {"a": 1, "b": 2}


def test_parse_call_accepts_only_known_functions() -> None:
    names = frozenset({"add"})
    assert parse_call('{"name": "add", "arguments": {"a": 1}}', names) == ("add", '{"a": 1}')
    assert parse_call('{"name": "rm", "arguments": {}}', names) is None
    assert parse_call("Paris is the capital.", names) is None
    assert parse_call('{"name": "add", "arguments": "x"}', names) is None


@pytest.fixture(scope="module")
def model(model_file: str):  # type: ignore[no-untyped-def]
    from llm_gateway.compat.llama_cpp import Llama, Vocab

    llm = Llama(model_file, n_ctx=256, verbose=False)
    yield llm, Vocab(llm)
    llm.close()


@pytest.fixture(scope="module")
def template(model):  # type: ignore[no-untyped-def]
    from llm_gateway.backends.llama.prompts import ChatTemplate

    return ChatTemplate(*model)


def test_the_tokens_tests_ban_are_every_end_token_of_the_default_model(model) -> None:  # type: ignore[no-untyped-def]
    """Tests that need a long generation ban these (NEVER_END), so it lasts `max_tokens`."""
    _, vocab = model
    ends = {str(token) for token in range(vocab.size) if vocab.is_end(token)}
    assert ends == set(NEVER_END)
    assert set(NEVER_END.values()) == {-100}


def test_template_comes_from_the_gguf_and_maps_developer_to_system(template) -> None:  # type: ignore[no-untyped-def]
    prompt = template.render((Message("developer", "Rules."), Message("user", "Hi")))
    assert "<|im_start|>system\nRules.<|im_end|>" in prompt
    assert prompt.endswith("<|im_start|>assistant\n")


def test_tool_turns_fall_back_to_plain_text(template) -> None:  # type: ignore[no-untyped-def]
    call = {"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a":1}'}}
    prompt = template.render(
        (
            Message("user", "Add."),
            Message("assistant", "", tool_calls=(call,)),
            Message("tool", "3", tool_call_id="c1"),
        ),
        instructions="You can call functions.",
    )
    assert '{"name": "add", "arguments": {"a": 1}}' in prompt
    assert "3" in prompt
    assert "You can call functions." in prompt
