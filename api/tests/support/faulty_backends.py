"""User-style backend classes for tests, loaded by path like `MODEL_BACKEND=module:Class`."""

from __future__ import annotations

from collections.abc import AsyncIterator

from llm_gateway.backends import Delta, GenerationRequest, SingleChoiceBackend
from llm_gateway.backends.mock import MockBackend, MockSettings
from llm_gateway.errors import ContextLengthExceeded


class FailsMidStream(SingleChoiceBackend):
    """Yields two tokens, then crashes with an internal error."""

    name = "fails-mid-stream"

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        yield Delta(text="Hello")
        yield Delta(text=" world")
        raise RuntimeError("secret internal detail /srv/weights.bin")


class RefusesLongPrompts(SingleChoiceBackend):
    """Raises a typed client error before any output."""

    name = "refuses"

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        raise ContextLengthExceeded("This prompt is too long.", param="messages")
        yield Delta()  # pragma: no cover - makes this an async generator


class CountingMock(MockBackend):
    """The mock backend, counting the deltas it has handed out: a test can wait for output
    instead of sleeping. A stream asks for its next delta only once the last one was sent."""

    name = "counting-mock"

    def __init__(self, settings: MockSettings) -> None:
        super().__init__(settings)
        self.yielded = 0

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        async for delta in super().stream(request):
            self.yielded += 1
            yield delta
