"""Continuous batching in the llama backend, in process with the real model: running together
changes no answer, sequences never leak into each other, and the engine's bookkeeping (the
queue, cancellation, the `n` choices sharing a prompt, the context check) holds."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import jsonschema
import pytest

from llm_gateway.backends import Delta, GenerationRequest, Message, PromptGroup
from llm_gateway.backends.llama.backend import LlamaBackend
from llm_gateway.backends.llama.engine import Engine
from llm_gateway.backends.llama.sequences import EngineEvent, Finished, Job, Token
from llm_gateway.backends.llama.settings import LlamaSettings
from llm_gateway.compat.llama_cpp import Vocab, load_model
from llm_gateway.errors import ContextLengthExceeded

from ..support.backends import one_choice

PARALLEL = 4


@pytest.fixture(scope="module")
def backend(model_file: str) -> Iterator[LlamaBackend]:
    """One backend for the module: 4 sequences at once, 2 threads, no host KV cache (these
    tests count what the slots alone do; test_llama_host_cache.py adds the cache)."""
    settings = LlamaSettings(  # type: ignore[call-arg]
        _env_file=None,
        model_path=model_file,
        n_threads=2,
        n_parallel=PARALLEL,
        kv_host_cache_mb=0,
    )
    llama = LlamaBackend(settings)
    asyncio.run(llama.load())
    yield llama
    asyncio.run(llama.close())


def ask(question: str, **options: object) -> GenerationRequest:
    values: dict[str, object] = {"max_tokens": 40, "temperature": 0.0, **options}
    return GenerationRequest(messages=(Message("user", question),), **values)  # type: ignore[arg-type]


@dataclass
class Answer:
    text: str
    finish_reason: str | None
    completion_tokens: int | None
    deltas: int


async def answer(backend: LlamaBackend, request: GenerationRequest) -> Answer:
    text: list[str] = []
    last = Delta()
    count = 0
    async for delta in one_choice(backend, request):
        text.append(delta.text)
        last = delta
        count += 1
    return Answer("".join(text), last.finish_reason, last.completion_tokens, count)


async def alone_and_together(
    backend: LlamaBackend, requests: list[GenerationRequest]
) -> tuple[list[Answer], list[Answer]]:
    alone = [await answer(backend, r) for r in requests]
    together = await asyncio.gather(*(answer(backend, r) for r in requests))
    return alone, list(together)


TOPICS = ("the sea", "a dragon", "bread", "the moon", "a robot", "winter")


@pytest.mark.parametrize("sampling", ["greedy", "seeded"])
async def test_batching_does_not_change_answers(backend: LlamaBackend, sampling: str) -> None:
    """Six requests, four slots: together (two join as others finish) each gets exactly what
    it gets alone. Each slot is a KV stream of its own and attention runs row by row, so a
    sequence's arithmetic does not depend on its neighbours."""
    options: dict[str, object] = {} if sampling == "greedy" else {"temperature": 0.9}
    requests = [
        ask(f"Write a short paragraph about {topic}.", max_tokens=48, seed=7 + i, **options)
        for i, topic in enumerate(TOPICS)
    ]
    before = backend.engine.stats.most_sequences  # type: ignore[union-attr]
    alone, together = await alone_and_together(backend, requests)
    assert [a.text for a in together] == [a.text for a in alone]
    assert [a.finish_reason for a in together] == [a.finish_reason for a in alone]
    assert [a.completion_tokens for a in together] == [a.completion_tokens for a in alone]
    assert all(a.completion_tokens and a.text for a in alone)
    assert max(before, PARALLEL) == backend.engine.stats.most_sequences  # type: ignore[union-attr]


FACTS = {
    "What is the capital of Japan?": "Tokyo",
    "What is the capital of Germany?": "Berlin",
    "What is the capital of Egypt?": "Cairo",
    "What is the capital of Russia?": "Moscow",
    "What is the capital of England?": "London",
    "What color is the sky on a clear day?": "blue",
    "Who wrote Romeo and Juliet?": "Shakespeare",
}


async def test_sequences_never_leak_into_each_other(backend: LlamaBackend) -> None:
    """Distinct questions with distinct answers, run at once: each answer names its own fact
    and none of the others'."""
    questions = list(FACTS)
    answers = await asyncio.gather(*(answer(backend, ask(q, max_tokens=24)) for q in questions))
    for question, got in zip(questions, answers, strict=True):
        assert FACTS[question] in got.text, (question, got.text)
        others = [fact for q, fact in FACTS.items() if q != question]
        assert not [fact for fact in others if fact in got.text], (question, got.text)
        assert got.completion_tokens is not None and got.completion_tokens <= 24


PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}


async def test_a_grammar_and_free_text_in_one_batch(backend: LlamaBackend) -> None:
    constrained = ask(
        "Describe a person.",
        max_tokens=60,
        response_format="json_schema",
        json_schema=PERSON,
    )
    free = [ask(f"Write a short paragraph about {t}.", max_tokens=48) for t in TOPICS[:3]]
    alone, together = await alone_and_together(backend, [constrained, *free])
    person = together[0]
    assert person.finish_reason == "stop"
    jsonschema.validate(json.loads(person.text), PERSON)
    assert [a.text for a in together] == [a.text for a in alone]


async def test_cancelling_one_sequence_leaves_the_others_unchanged(backend: LlamaBackend) -> None:
    requests = [ask(f"Write a short paragraph about {t}.", max_tokens=48) for t in TOPICS[:3]]
    alone = [await answer(backend, r) for r in requests]
    stats = backend.engine.stats  # type: ignore[union-attr]

    async def cut_short() -> int:
        got = 0
        async with contextlib.aclosing(one_choice(backend, requests[1])) as deltas:  # type: ignore[type-var]
            async for _ in deltas:
                got += 1
                if got == 5:
                    break  # closing the stream cancels its sequence
        return got

    generated_before = stats.tokens_generated
    first, cut, third = await asyncio.gather(
        answer(backend, requests[0]), cut_short(), answer(backend, requests[2])
    )
    assert cut == 5
    assert (first.text, third.text) == (alone[0].text, alone[2].text)
    # The cancelled one stopped within a few steps of being closed.
    assert first.completion_tokens is not None and third.completion_tokens is not None
    spent = stats.tokens_generated - generated_before
    assert spent <= first.completion_tokens + third.completion_tokens + 5 + 10  # not 48


async def test_n_choices_share_one_evaluation_of_the_prompt(backend: LlamaBackend) -> None:
    """The three choices of one prompt: the prompt is evaluated once (the others copy its KV)
    and each choice is what that choice's seed gives alone."""
    base = ask("Tell me a joke about computers.", max_tokens=24, temperature=0.9, seed=40)
    stats = backend.engine.stats  # type: ignore[union-attr]
    evaluated, cached, copied, shared = (
        stats.prompt_tokens_evaluated,
        stats.prompt_tokens_cached,
        stats.prompt_tokens_copied,
        stats.prompt_tokens_shared,
    )
    texts: dict[int, list[str]] = {0: [], 1: [], 2: []}
    finished: dict[int, Delta] = {}
    prompt_tokens = None
    async for index, delta in backend.stream_choices([PromptGroup(base, 3)]):
        texts[index].append(delta.text)
        prompt_tokens = delta.prompt_tokens
        if delta.finish_reason:
            finished[index] = delta
    assert sorted(finished) == [0, 1, 2]
    assert prompt_tokens is not None
    # Evaluated once: what the prefix caches did not hold, and nothing more.
    reused = stats.prompt_tokens_cached - cached + stats.prompt_tokens_copied - copied
    assert stats.prompt_tokens_evaluated - evaluated == prompt_tokens - reused
    assert stats.prompt_tokens_shared - shared == 2 * prompt_tokens
    outputs = ["".join(texts[i]) for i in range(3)]
    assert all(outputs) and len(set(outputs)) > 1
    for i in range(3):  # the same as the seed of choice i (seed + i) alone
        single = await answer(backend, replace(base, seed=40 + i))
        assert single.text == outputs[i]
        assert single.completion_tokens == finished[i].completion_tokens


SYSTEM = (
    "You are a patient tutor for a class of ten-year-olds. Answer in two short sentences, "
    "use simple words, never use lists, and end every answer with a friendly question that "
    "invites the pupil to think a little further about the topic."
)


def tutor(question: str) -> GenerationRequest:
    return GenerationRequest(
        messages=(Message("system", SYSTEM), Message("user", question)),
        max_tokens=40,
        temperature=0.0,
    )


async def evict(backend: LlamaBackend) -> None:
    """Every slot takes an unrelated prompt, so that no free slot caches the tutor's."""
    await asyncio.gather(*(answer(backend, ask(f"Say {i}.", max_tokens=2)) for i in range(4)))


async def test_a_shared_prefix_is_copied_from_a_busy_slot(backend: LlamaBackend) -> None:
    """Two users with the same long system prompt: the second copies it from the first one's
    slot instead of evaluating it, and gets the same answer as when it evaluated it all."""
    stats = backend.engine.stats  # type: ignore[union-attr]
    await evict(backend)
    alone = await answer(backend, tutor("Why is the sky blue?"))
    await evict(backend)
    copied = stats.prompt_tokens_copied
    first_running = asyncio.Event()

    async def first() -> Answer:
        text: list[str] = []
        async for delta in one_choice(backend, tutor("Why do cats purr?")):
            text.append(delta.text)
            first_running.set()
        return Answer("".join(text), None, None, len(text))

    running = asyncio.create_task(first())
    await first_running.wait()
    second = await answer(backend, tutor("Why is the sky blue?"))
    await running
    assert second.text == alone.text
    assert stats.prompt_tokens_copied - copied >= 40  # the system prompt, about 50 tokens


async def test_a_prompt_over_the_context_is_refused_before_any_generation(
    backend: LlamaBackend,
) -> None:
    stats = backend.engine.stats  # type: ignore[union-attr]
    steps, evaluated = stats.steps, stats.prompt_tokens_evaluated
    too_long = ask("hello " * 3000)
    with pytest.raises(ContextLengthExceeded):
        await anext(one_choice(backend, too_long))  # type: ignore[arg-type]
    too_many = ask("Hi", max_tokens=backend.settings.n_ctx)
    with pytest.raises(ContextLengthExceeded):
        await anext(one_choice(backend, too_many))  # type: ignore[arg-type]
    assert (stats.steps, stats.prompt_tokens_evaluated) == (steps, evaluated)
    assert backend.context_window == backend.settings.n_ctx


@pytest.fixture(scope="module")
def end_tokens(backend: LlamaBackend, model_file: str) -> dict[int, float]:
    """A logit bias that bans the end-of-generation tokens: a stream then runs to its
    max_tokens exactly, so the order in which streams end is known."""
    llm = load_model(model_file)
    vocab = Vocab(llm)
    banned = {t: -100.0 for t in range(vocab.size) if vocab.is_end(t)}
    llm.close()
    return banned


async def queued(backend: LlamaBackend, count: int) -> None:
    """Until the engine's queue holds `count` sequences."""
    assert backend.engine is not None
    for _ in range(10_000):
        if backend.engine.stats.waiting >= count:
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"the engine never queued {count} sequences")


async def test_more_sequences_than_slots_wait_in_order_and_can_leave(
    backend: LlamaBackend, end_tokens: dict[int, float]
) -> None:
    """Four slots busy, three more requests: they wait, start first come first served as
    slots free up, and the one cancelled while waiting never costs a token."""
    lengths = [16, 24, 32, 40, 12, 12, 12]
    requests = [
        ask(f"Count from one to {n + 10}.", max_tokens=n, logit_bias=end_tokens) for n in lengths
    ]
    first_token_order: list[int] = []
    all_four_running = asyncio.Event()
    stats = backend.engine.stats  # type: ignore[union-attr]
    generated_before = stats.tokens_generated

    async def run(i: int) -> Answer:
        text: list[str] = []
        last = Delta()
        async for delta in one_choice(backend, requests[i]):
            if not text:
                first_token_order.append(i)
                if len(first_token_order) == 4:
                    all_four_running.set()
            text.append(delta.text)
            last = delta
        return Answer("".join(text), last.finish_reason, last.completion_tokens, len(text))

    async def cancelled_while_waiting() -> None:
        stream = one_choice(backend, requests[5])
        pending = asyncio.ensure_future(anext(stream))  # type: ignore[arg-type]
        await asyncio.sleep(0.01)  # the earliest slot frees in 15 steps
        assert not pending.done()
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pending
        await stream.aclose()  # type: ignore[attr-defined]

    running = [asyncio.create_task(run(i)) for i in range(4)]
    await all_four_running.wait()
    waiting = asyncio.create_task(run(4))
    await queued(backend, 1)  # before the later ones arrive
    await cancelled_while_waiting()
    last = asyncio.create_task(run(6))
    answers = await asyncio.gather(*running, waiting, last)
    assert [a.completion_tokens for a in answers] == [16, 24, 32, 40, 12, 12]
    assert first_token_order[4:] == [4, 6]  # slots freed by 0, then 1: first come first served
    assert stats.tokens_generated - generated_before == sum(lengths) - 12


@pytest.fixture(scope="module")
def small_batch_engine(model_file: str) -> Iterator[Engine]:
    """An engine evaluating at most 16 tokens a step, so that a prompt takes many steps."""
    llm = load_model(model_file)
    engine = Engine(llm, Vocab(llm), n_ctx=1024, n_parallel=3, n_batch=16, n_threads=2)
    engine.start()
    yield engine
    engine.close()
    llm.close()


def run_group(
    engine: Engine, jobs: list[Job], cancel_first_after: int | None = None
) -> dict[int, list[EngineEvent]]:
    """Submit the jobs as one prompt group; cancel choice 0 once that many prompt tokens
    were evaluated; return every choice's events."""
    events: dict[int, list[EngineEvent]] = {i: [] for i in range(len(jobs))}
    done = {i: False for i in range(len(jobs))}

    def deliver(index: int, items: list[EngineEvent]) -> None:
        events[index].extend(items)
        done[index] = done[index] or any(isinstance(e, Finished) for e in items)

    start = engine.stats.prompt_tokens_evaluated
    ticket = engine.submit([list(enumerate(jobs))], deliver)
    deadline = time.monotonic() + 120
    while not all(done.values()):
        if (
            cancel_first_after is not None
            and engine.stats.prompt_tokens_evaluated - start >= cancel_first_after
        ):
            ticket.cancel(0)
            cancel_first_after = None
        assert time.monotonic() < deadline, "the engine never finished"
        time.sleep(0.001)
    return events


def text_of(events: list[EngineEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, Token))


def test_a_leader_cancelled_mid_prompt_hands_its_work_to_a_follower(
    small_batch_engine: Engine, model_file: str
) -> None:
    engine = small_batch_engine
    llm = load_model(model_file)
    prompt = llm.tokenize(("Once upon a time " * 60).encode(), add_bos=False)
    llm.close()
    job = Job(tokens=prompt, max_new_tokens=12, temperature=0.0)
    reference = text_of(run_group(engine, [job])[0])
    # Another prompt takes over the slot that caches this one: evaluated from scratch again.
    run_group(engine, [Job(tokens=[1, 2, 3], max_new_tokens=1)])
    evaluated = engine.stats.prompt_tokens_evaluated
    promotions = engine.stats.promotions
    events = run_group(engine, [job, job, job], cancel_first_after=48)
    assert engine.stats.promotions == promotions + 1
    finished = events[0][-1]
    assert isinstance(finished, Finished) and finished.reason == "cancelled"
    assert text_of(events[1]) == text_of(events[2]) == reference
    # The prompt was evaluated once in all, by the leader and then its successor.
    assert engine.stats.prompt_tokens_evaluated - evaluated <= len(prompt)
