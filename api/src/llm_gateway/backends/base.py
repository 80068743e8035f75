"""The one interface every model backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import ClassVar

from ..config import Settings
from .types import Delta, GenerationRequest


class Backend(ABC):
    """A model behind the API. Streaming first: non-streaming answers are folded from
    `stream()` by the service, so the two can never disagree.

    Contract for `stream()`:
    - yield `Delta`s as tokens come; the last one has `finish_reason` and token counts;
    - honour `max_tokens` and `stop` (the stop text itself is not returned);
    - raise `errors.APIError` subclasses for the client's mistakes (e.g.
      `ContextLengthExceeded`) before yielding anything, other exceptions for faults;
    - stop working promptly when the iterator is closed (client went away).
    """

    name: ClassVar[str] = "custom"
    supported_params: ClassVar[frozenset[str]] = frozenset()
    """Request fields this backend honours beyond the ones every backend must."""
    default_concurrency: ClassVar[int] = 1
    """Generations one worker runs at once when MAX_CONCURRENT is not set."""
    supports_chat: ClassVar[bool] = True
    supports_completions: ClassVar[bool] = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ready = False

    async def load(self) -> None:
        """Load weights / open connections. Called once, off the request path."""
        self.ready = True

    async def close(self) -> None:
        """Release resources at shutdown."""
        self.ready = False

    @property
    def context_length(self) -> int | None:
        return None

    @abstractmethod
    def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        """Generate one choice."""
