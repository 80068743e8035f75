from __future__ import annotations

import pytest

from llm_gateway.backends import Delta, GenerationRequest, Message, mock
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


async def test_an_answer_seen_again_is_the_answer_drawn_afresh() -> None:
    """The kept answers change nothing: every variant of a request (stop, logprobs, length,
    seed) gives, the second time, exactly what a backend that never saw it gives."""
    variants = [
        chat(),
        chat(seed=3),
        chat(max_tokens=5),
        chat(logprobs=2),
        chat(stop=("the",)),
        GenerationRequest(prompt="once upon a time", max_tokens=12),
    ]
    backend = MockBackend(MockSettings(mock_max_tokens=40))
    first = [await collect(backend, request) for request in variants]
    again = [await collect(backend, request) for request in variants]
    fresh = [
        await collect(MockBackend(MockSettings(mock_max_tokens=40)), request)
        for request in variants
    ]
    assert first == again == fresh
    assert len({tuple(d.text for d in deltas) for deltas in first}) == len(variants)


async def test_kept_answers_stay_within_their_budget_least_recently_used_first() -> None:
    backend = MockBackend(MockSettings(mock_max_tokens=20))
    answers = backend._answers
    answers.budget = 3 * (mock._DELTA_BYTES * 40 + 64)  # about three answers
    for seed in range(10):
        await collect(backend, chat(seed=seed))
        assert answers.used <= answers.budget
    await collect(backend, chat(seed=7))  # used again: the newest
    await collect(backend, chat(seed=10))
    held = [key[0] for key in answers._held]
    assert len(held) == 3
    assert held[-2].startswith("0|7|") and held[-1].startswith("0|10|")
    answers.budget = 100  # an answer bigger than the whole budget is answered, not kept
    answers.put(("big",), (None,) * 10, 0)
    assert ("big",) not in answers._held
    long = await collect(backend, chat(seed=11))
    assert len(answers._held) == 3 and long[-1].completion_tokens == 20
    assert long == await collect(MockBackend(MockSettings(mock_max_tokens=20)), chat(seed=11))


async def test_a_paced_answer_waits_between_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(mock.asyncio, "sleep", sleep)
    backend = MockBackend(MockSettings(mock_ttft_ms=50, mock_token_ms=10, mock_max_tokens=6))
    for _ in range(2):  # drawn, then kept: paced alike
        waits.clear()
        deltas = await collect(backend, chat())
        assert deltas[-1].completion_tokens == 6
        assert waits == [0.05] + [0.01] * 5
