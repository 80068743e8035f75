"""Driving a backend directly, as the service does, one choice at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

from llm_gateway.backends import Backend, Delta, GenerationRequest, PromptGroup


async def one_choice(backend: Backend, request: GenerationRequest) -> AsyncIterator[Delta]:
    """The deltas of a call of one choice (`backend.stream_choices` of one group)."""
    async with aclosing(backend.stream_choices([PromptGroup(request)])) as deltas:  # type: ignore[type-var]
        async for _, delta in deltas:
            yield delta
