"""One call's generation: its choices, pulled from the backend as a single event stream,
holding an admission slot while it runs, and the figures observability reads when it ends.

Every renderer consumes `events()`, streaming or folding, so the two cannot disagree.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from ..backends import ChoiceDelta, Delta, choice_requests
from .call import Call


@dataclass(slots=True)
class GenerationStats:
    """What observability reads once the response has finished."""

    model: str
    backend: str
    choices: int
    queue_wait: float | None = None
    started: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None
    finished_at: float | None = None
    prompt_tokens: int = 0
    cached_tokens: int | None = None
    """Of the prompt tokens, those the backend took from its cache (None: it does not say)."""
    completion_tokens: int = 0
    finish_reasons: list[str] = field(default_factory=list)
    ignored_params: list[str] = field(default_factory=list)
    disconnected: bool = False
    # Per-choice output text, kept only when LOG_CONTENT asks for it (None: not kept).
    output: list[list[str]] | None = None

    @property
    def ttft(self) -> float | None:
        if self.first_token_at is None:
            return None
        return self.first_token_at - self.started


class Generation:
    """`start()` takes an admission slot and waits for the first event, so that errors raised
    before any output (bad model, context too long, queue full) become plain HTTP errors.
    `events()` then yields `(choice_index, delta)` until every choice has finished."""

    def __init__(self, call: Call, *, keep_output: bool = False) -> None:
        served = call.served
        self.call = call
        self.model = served.id
        self.backend = served.backend
        self.requests = choice_requests(call.groups)
        """One request per choice, in choice order."""
        self.stats = GenerationStats(
            model=served.id,
            backend=served.backend.name,
            choices=len(self.requests),
            ignored_params=list(call.ignored),
            output=[[] for _ in self.requests] if keep_output else None,
        )
        self._group_of = [g for g, group in enumerate(call.groups) for _ in range(group.n)]
        self._admission = served.admission
        self._admitted = False
        self._first: ChoiceDelta | None = None
        self._iterator: AsyncIterator[ChoiceDelta] | None = None
        self._prompt_tokens: dict[int, int] = {}
        self._counted: set[int] = set()  # choices whose group's prompt tokens are counted
        self._keep_output = keep_output
        self._unfinished: dict[int, int] = {}  # running totals of choices in progress

    async def start(self) -> None:
        self.stats.queue_wait = await self._admission.acquire()
        self._admitted = True
        self.stats.started = time.perf_counter()
        try:
            self._iterator = self.backend.stream_choices(self.call.groups)
            first = await anext(self._iterator)
            self.stats.first_token_at = time.perf_counter()
            self._record(first)
            self._first = first
        except BaseException:
            await self.aclose()
            raise

    async def events(self) -> AsyncIterator[ChoiceDelta]:
        """The backend's events, each counted as it passes (one generator layer: this is
        the per-token path)."""
        iterator = self._iterator
        assert iterator is not None, "start() first"
        record = self._record
        counted = self._counted
        unfinished = self._unfinished
        try:
            if self._first is not None:
                first, self._first = self._first, None
                yield first
            async for event in iterator:
                index, delta = event
                # The common case inline: one more token of a choice whose prompt is counted.
                if delta.finish_reason is None and index in counted and not self._keep_output:
                    if delta.completion_tokens is not None:
                        unfinished[index] = delta.completion_tokens
                else:
                    record(event)
                yield event
            self.stats.finished_at = time.perf_counter()
        finally:
            await self.aclose()

    async def fold(self, add: Callable[[int, Delta], None]) -> None:
        """Every event of `events()` handed to `add(choice_index, delta)`, counted the same
        way, for a renderer that folds them into one body: the per-token path one async
        generator layer shorter."""
        iterator = self._iterator
        assert iterator is not None, "start() first"
        record = self._record
        counted = self._counted
        unfinished = self._unfinished
        try:
            if self._first is not None:
                first, self._first = self._first, None
                add(*first)
            async for index, delta in iterator:
                if delta.finish_reason is None and index in counted and not self._keep_output:
                    if delta.completion_tokens is not None:
                        unfinished[index] = delta.completion_tokens
                else:
                    record((index, delta))
                add(index, delta)
            self.stats.finished_at = time.perf_counter()
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Stop the backend and free the slot; safe to call more than once."""
        iterator, self._iterator = self._iterator, None
        try:
            if iterator is not None:
                await iterator.aclose()  # type: ignore[attr-defined]
        finally:
            # A choice cut short (client gone, shutdown, error) still cost its tokens.
            self.stats.completion_tokens += sum(self._unfinished.values())
            self._unfinished.clear()
            if self._admitted:
                self._admitted = False
                self._admission.release()
                if self.stats.finished_at is None:
                    self.stats.finished_at = time.perf_counter()

    def _record(self, event: ChoiceDelta) -> None:
        index, delta = event
        if delta.prompt_tokens is not None and index not in self._counted:
            # Once per prompt: the `n` choices of one group share it.
            group = self._group_of[index]
            if group not in self._prompt_tokens:
                self._prompt_tokens[group] = delta.prompt_tokens
                self.stats.prompt_tokens += delta.prompt_tokens
                if delta.cached_tokens is not None:
                    self.stats.cached_tokens = (self.stats.cached_tokens or 0) + min(
                        delta.cached_tokens, delta.prompt_tokens
                    )
            self._counted.add(index)
        if delta.finish_reason is not None:
            self._finish(index, delta)
        elif delta.completion_tokens is not None:
            self._unfinished[index] = delta.completion_tokens
        if self.stats.output is not None:
            self.stats.output[index].append(delta.text)

    def _finish(self, index: int, delta: Delta) -> None:
        running = self._unfinished.pop(index, 0)
        finished = delta.completion_tokens
        self.stats.completion_tokens += running if finished is None else finished
        self.stats.finish_reasons.append(delta.finish_reason or "stop")

    @property
    def wants_body(self) -> bool:
        """Whether a completion hook waits for the finished body (a streaming renderer then
        folds its events too)."""
        return self.call.on_complete is not None

    async def complete(self, body: dict[str, Any]) -> None:
        """The renderer's finished response: the call's completion hook runs (a stored
        response is saved) before the client is told the response is complete."""
        if self.call.on_complete is not None:
            await self.call.on_complete(body)

    def usage(self) -> dict[str, Any]:
        """OpenAI's usage object; `prompt_tokens_details.cached_tokens` when the backend
        said how many prompt tokens came from its cache."""
        stats = self.stats
        usage: dict[str, Any] = {
            "prompt_tokens": stats.prompt_tokens,
            "completion_tokens": stats.completion_tokens,
            "total_tokens": stats.prompt_tokens + stats.completion_tokens,
        }
        if stats.cached_tokens is not None:
            usage["prompt_tokens_details"] = {"cached_tokens": stats.cached_tokens}
        return usage

    def transcript(self) -> dict[str, Any]:
        """Prompt and output text, for LOG_CONTENT=true only (the output if it was kept)."""
        first = self.requests[0]
        prompt: Any
        if first.messages is not None:
            prompt = [{"role": m.role, "content": m.content} for m in first.messages]
        else:
            prompt = list(dict.fromkeys(r.prompt or "" for r in self.requests))
        out = self.stats.output
        return {"prompt": prompt, "output": None if out is None else ["".join(o) for o in out]}
