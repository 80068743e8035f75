from __future__ import annotations

from llm_gateway.backends import Delta, GenerationRequest, Message
from llm_gateway.backends.mock import MockBackend, MockSettings


async def collect(backend: MockBackend, request: GenerationRequest) -> list[Delta]:
    return [d async for d in backend.stream(request)]


def chat(**kw: object) -> GenerationRequest:
    return GenerationRequest(messages=(Message("user", "hello there"),), **kw)  # type: ignore[arg-type]


async def test_same_request_same_text_and_seed_changes_it() -> None:
    backend = MockBackend(MockSettings())
    first = "".join(d.text for d in await collect(backend, chat(seed=1)))
    again = "".join(d.text for d in await collect(backend, chat(seed=1)))
    other = "".join(d.text for d in await collect(backend, chat(seed=2)))
    assert first == again
    assert first != other


async def test_last_delta_finishes_and_counts_tokens() -> None:
    backend = MockBackend(MockSettings(mock_max_tokens=10))
    deltas = await collect(backend, chat())
    assert [d.finish_reason for d in deltas[:-1]] == [None] * (len(deltas) - 1)
    assert deltas[-1].finish_reason == "stop"
    assert deltas[-1].completion_tokens == 10
    assert deltas[-1].prompt_tokens and deltas[-1].prompt_tokens > 0


async def test_max_tokens_finishes_with_length() -> None:
    deltas = await collect(MockBackend(MockSettings()), chat(max_tokens=3))
    assert deltas[-1].finish_reason == "length"
    assert deltas[-1].completion_tokens == 3


async def test_stop_sequence_is_honoured() -> None:
    backend = MockBackend(MockSettings())
    full = "".join(d.text for d in await collect(backend, chat()))
    word = full.split()[3]
    deltas = await collect(backend, chat(stop=(word,)))
    text = "".join(d.text for d in deltas)
    assert deltas[-1].finish_reason == "stop"
    assert word not in text
    assert full.startswith(text)


async def test_choices_differ_by_index() -> None:
    backend = MockBackend(MockSettings())
    a = "".join(d.text for d in await collect(backend, chat(choice_index=0)))
    b = "".join(d.text for d in await collect(backend, chat(choice_index=1)))
    assert a != b
