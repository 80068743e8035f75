"""The host KV cache with the real model: a conversation whose slot another one took comes
back to its history restored from host memory, and gets exactly the answer a fresh
evaluation of the whole history gives; more conversations than the cache holds keep it
within its limit."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import AsyncIterator

import pytest

from llm_gateway.backends import GenerationRequest, Message
from llm_gateway.backends.llama.backend import LlamaBackend
from llm_gateway.backends.llama.engine import Engine
from llm_gateway.backends.llama.settings import LlamaSettings

from ..support.backends import one_choice

SLOTS = 2
TOPICS = ("the sea", "dragons", "bread", "the moon", "winter", "robots", "trains", "tea")
Turns = list[tuple[str, str]]


async def loaded(model_file: str, host_cache_mb: int) -> LlamaBackend:
    settings = LlamaSettings(  # type: ignore[call-arg]
        _env_file=None,
        model_path=model_file,
        n_threads=2,
        n_parallel=SLOTS,
        kv_host_cache_mb=host_cache_mb,
    )
    backend = LlamaBackend(settings)
    await backend.load()
    return backend


@pytest.fixture
async def cached(model_file: str) -> AsyncIterator[LlamaBackend]:
    backend = await loaded(model_file, 256)
    yield backend
    await backend.close()


def engine(backend: LlamaBackend) -> Engine:
    assert backend.engine is not None
    return backend.engine


def opening(topic: str) -> Turns:
    return [
        ("system", f"You are a friendly guide who knows everything about {topic}. " * 8),
        ("user", f"Tell me about {topic}."),
    ]


async def say(backend: LlamaBackend, turns: Turns, **options: object) -> str:
    values: dict[str, object] = {"max_tokens": 24, "temperature": 0.0, **options}
    request = GenerationRequest(
        messages=tuple(Message(role, text) for role, text in turns),
        **values,  # type: ignore[arg-type]
    )
    return "".join([delta.text async for delta in one_choice(backend, request)])


async def first_turns(backend: LlamaBackend, topics: tuple[str, ...]) -> dict[str, Turns]:
    """Each conversation's first turn, one after another: with more conversations than
    slots, the later ones take the earlier ones' slots (which are saved to host memory)."""
    conversations = {}
    for topic in topics:
        turns = opening(topic)
        answer = await say(backend, turns)
        conversations[topic] = [*turns, ("assistant", answer), ("user", "Tell me more.")]
    return conversations


@pytest.mark.parametrize("sampling", ["greedy", "seeded"])
async def test_a_restored_history_changes_no_answer(
    cached: LlamaBackend, model_file: str, sampling: str
) -> None:
    options: dict[str, object] = {} if sampling == "greedy" else {"temperature": 0.9, "seed": 3}
    topics = TOPICS[:4]
    conversations = await first_turns(cached, topics)
    stats, host = engine(cached).stats, engine(cached).host
    assert host.stats.saved >= len(topics) - SLOTS
    restored = stats.prompt_tokens_restored
    # The second turns, all at once: two at a time run, each restoring its history into a
    # slot that held another conversation (whose history is saved first).
    again = await asyncio.gather(*(say(cached, conversations[t], **options) for t in topics))
    assert host.stats.restored >= len(topics) - SLOTS
    history = min(len(t) for t in conversations.values())
    assert stats.prompt_tokens_restored - restored >= (len(topics) - SLOTS) * history // 2
    fresh = await loaded(model_file, 0)
    try:
        expected = [await say(fresh, conversations[t], **options) for t in topics]
        assert engine(fresh).stats.prompt_tokens_restored == 0
    finally:
        await fresh.close()
    assert again == expected
    assert all(again)


async def test_more_conversations_than_the_cache_holds_stay_within_its_limit(
    model_file: str,
) -> None:
    """A 6 MiB cache (a conversation here is about 5 MiB of KV): each saved history pushes
    the previous one out; the bytes held, counted and as allocated, stay under the limit."""
    limit_mb = 6
    backend = await loaded(model_file, limit_mb)
    host = engine(backend).host
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        conversations = await first_turns(backend, TOPICS)
        peak_held = host.bytes
        for topic in TOPICS:
            await say(backend, conversations[topic])
            peak_held = max(peak_held, host.bytes)
            assert host.bytes <= limit_mb * 1024 * 1024
        allocated = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
        await backend.close()
    assert host.stats.saved > len(TOPICS) and host.stats.evicted >= len(TOPICS)
    assert len(host) <= 1 and peak_held > 0
    # What Python still holds (the saved states are numpy buffers, traced) is the cache.
    assert allocated < limit_mb * 1024 * 1024 + 1024 * 1024
