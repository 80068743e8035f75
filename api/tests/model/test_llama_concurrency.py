"""Many users at once on the embedded model, through gunicorn and the official SDK: answers
do not change, every stream moves from its first token, `n` choices come back together, and
the worker's memory stays flat."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai

from ..support.server import ServerProcess

QUESTIONS = [
    "What is the capital of Japan?",
    "What is the capital of Germany?",
    "What is the capital of Egypt?",
    "Write a short paragraph about the sea.",
    "Write a short paragraph about bread.",
    "Name three colours.",
]


def chat(llm: openai.OpenAI, question: str, **options: Any) -> Any:
    return llm.chat.completions.create(
        model="smollm2",
        messages=[{"role": "user", "content": question}],
        **{"max_tokens": 32, "temperature": 0, **options},
    )


def test_requests_at_once_get_the_answers_they_get_alone(llm: openai.OpenAI) -> None:
    alone = [chat(llm, q).choices[0].message.content for q in QUESTIONS]
    with ThreadPoolExecutor(len(QUESTIONS)) as pool:
        together = list(pool.map(lambda q: chat(llm, q).choices[0].message.content, QUESTIONS))
    assert together == alone
    assert all(alone)


def test_every_stream_moves_from_its_first_token(llm: openai.OpenAI) -> None:
    """Four streams on four sequences: each has its first token before any of them ends (no
    stream waits for another to finish)."""
    events: list[tuple[str, int]] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def stream(i: int) -> int:
        start.wait()
        tokens = 0
        for chunk in chat(llm, QUESTIONS[3 + i % 3], max_tokens=48, stream=True, seed=i):
            for choice in chunk.choices:
                if choice.delta.content:
                    tokens += 1
                    if tokens == 1:
                        with lock:
                            events.append(("first", i))
                if choice.finish_reason:
                    with lock:
                        events.append(("end", i))
        return tokens

    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(stream, range(4)))
    assert all(counts)
    first_end = next(n for n, (kind, _) in enumerate(events) if kind == "end")
    assert sorted(i for kind, i in events[:first_end] if kind == "first") == [0, 1, 2, 3]


def test_n_choices_come_back_together(llm: openai.OpenAI) -> None:
    """`n: 3` in one call: three choices, each the one its seed (seed + index) gives alone,
    the prompt counted once."""
    several = chat(llm, QUESTIONS[0], seed=3, temperature=0.9, n=3)
    assert [c.index for c in several.choices] == [0, 1, 2]
    completion_tokens = 0
    for choice in several.choices:
        alone = chat(llm, QUESTIONS[0], seed=3 + choice.index, temperature=0.9)
        assert choice.message.content and choice.message.content == alone.choices[0].message.content
        assert choice.finish_reason == alone.choices[0].finish_reason
        assert alone.usage is not None and several.usage is not None
        assert several.usage.prompt_tokens == alone.usage.prompt_tokens
        completion_tokens += alone.usage.completion_tokens
    assert several.usage is not None and several.usage.completion_tokens == completion_tokens


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_worker_memory_stays_flat_over_repeated_batches(
    llama_server: ServerProcess, llm: openai.OpenAI
) -> None:
    """Rounds of eight requests at once (four run, four wait): after two rounds of warm-up
    the worker's RSS does not keep growing."""
    (worker,) = llama_server.worker_pids()

    def round_of_eight(seed: int) -> None:
        with ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(
                    lambda i: chat(llm, QUESTIONS[i % 6], seed=seed + i, temperature=0.8),
                    range(8),
                )
            )
        assert all(a.choices[0].message.content for a in answers)

    for seed in range(2):
        round_of_eight(100 * seed)
    warm = rss_mb(worker)
    for seed in range(2, 7):
        round_of_eight(100 * seed)
    assert rss_mb(worker) < warm * 1.1, (warm, rss_mb(worker))
