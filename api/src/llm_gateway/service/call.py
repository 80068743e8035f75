"""`Call`: one API request once its translator has read it — the value the service runs.

Every API shape (chat, completions, responses, Anthropic messages) is turned into a `Call` by
its translator (`translate/`), so the service, the backends and observability see one thing:
the model resolved for the endpoint, the prompt groups (a prompt and its `n`), the fields
nothing honours, and what to do with the finished response (store it, or nothing).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..backends import EmbeddingRequest, PromptGroup
from .registry import ServedModel

CompletionHook = Callable[[dict[str, Any]], Awaitable[None]]
"""Called with the finished response body before the client is told it is complete (a
stored response must be readable by the client's next request)."""


@dataclass(frozen=True, slots=True)
class Call:
    served: ServedModel
    """The model, already resolved for this endpoint (and ready)."""
    groups: tuple[PromptGroup, ...]
    """Prompt-major: the choices of the first group come first."""
    ignored: tuple[str, ...] = ()
    """Fields the client sent that nothing on this server honours (`x-ignored-params`)."""
    on_complete: CompletionHook | None = None


@dataclass(frozen=True, slots=True)
class EmbeddingCall:
    """An embeddings request once translated: the model, the inputs (token ids already read
    as text where the server decodes them), the fields nothing honours."""

    served: ServedModel
    request: EmbeddingRequest
    ignored: tuple[str, ...] = ()
