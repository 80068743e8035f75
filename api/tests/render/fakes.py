"""A scripted generation for renderer tests: the deltas of choice 0, fixed usage, and the
completion hook recording what it was handed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from llm_gateway.backends import Delta


class FakeGeneration:
    def __init__(
        self,
        deltas: Iterable[Delta],
        *,
        model: str = "local-model",
        prompt_tokens: int = 11,
        completion_tokens: int = 7,
        other_choices: bool = False,
    ) -> None:
        self.model = model
        self.deltas = list(deltas)
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.other_choices = other_choices
        self.completed: list[dict[str, Any]] = []

    async def events(self) -> AsyncIterator[tuple[int, Delta]]:
        for delta in self.deltas:
            yield 0, delta
            if self.other_choices:
                yield 1, Delta(text="not mine")

    async def fold(self, add: Callable[[int, Delta], None]) -> None:
        """As `Generation.fold`: every event of `events()` to `add`."""
        async for index, delta in self.events():
            add(index, delta)

    def usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }

    async def complete(self, body: dict[str, Any]) -> None:
        self.completed.append(body)
