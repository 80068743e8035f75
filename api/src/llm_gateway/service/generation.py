"""One API call's generation: its choices, pulled from a backend as a single event stream,
holding a slot while it runs, and the figures observability reads when it ends.

Every renderer consumes `events()`, streaming or folding, so the two cannot disagree.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from ..backends import Backend, Delta, GenerationRequest
from .slots import Slots

Event = tuple[int, Delta]


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
    """`start()` takes a slot and waits for the first event, so that errors raised before
    any output (bad model, context too long, queue full) become plain HTTP errors.
    `events()` then yields `(choice_index, delta)` until every choice has finished."""

    def __init__(
        self,
        *,
        model: str,
        backend: Backend,
        requests: list[GenerationRequest],
        prompt_group_size: int,
        slots: Slots,
        stats: GenerationStats,
    ) -> None:
        self.model = model
        self.backend = backend
        self.requests = requests
        self.stats = stats
        self._group_size = prompt_group_size
        self._slots = slots
        self._has_slot = False
        self._first: Event | None = None
        self._iterator: AsyncIterator[Event] | None = None
        self._prompt_tokens: dict[int, int] = {}
        self._unfinished: dict[int, int] = {}  # running totals of choices in progress

    async def start(self) -> None:
        self.stats.queue_wait = await self._slots.acquire()
        self._has_slot = True
        self.stats.started = time.perf_counter()
        try:
            self._iterator = self.backend.stream_choices(self.requests)
            first = await anext(self._iterator)
            self.stats.first_token_at = time.perf_counter()
            self._record(first)
            self._first = first
        except BaseException:
            await self.aclose()
            raise

    async def events(self) -> AsyncIterator[Event]:
        """The backend's events, each counted as it passes (one generator layer: this is
        the per-token path)."""
        iterator = self._iterator
        assert iterator is not None, "start() first"
        record = self._record
        try:
            if self._first is not None:
                first, self._first = self._first, None
                yield first
            async for event in iterator:
                record(event)
                yield event
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
            if self._has_slot:
                self._has_slot = False
                self._slots.release()
                if self.stats.finished_at is None:
                    self.stats.finished_at = time.perf_counter()

    def _record(self, event: Event) -> None:
        index, delta = event
        if delta.prompt_tokens is not None:
            # Once per prompt: the `n` choices of one prompt share it.
            group = index // self._group_size
            if group not in self._prompt_tokens:
                self._prompt_tokens[group] = delta.prompt_tokens
                self.stats.prompt_tokens += delta.prompt_tokens
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

    def usage(self) -> dict[str, int]:
        stats = self.stats
        return {
            "prompt_tokens": stats.prompt_tokens,
            "completion_tokens": stats.completion_tokens,
            "total_tokens": stats.prompt_tokens + stats.completion_tokens,
        }

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
