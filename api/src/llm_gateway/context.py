"""One typed context per request, under one key of the ASGI scope's state.

The observability middleware creates it (request id, start time); the auth middleware sets
the owner; the route leaves the generation (or, for embeddings, its figures); whoever answers
with an error leaves the error. The observability middleware reads it all once the response
has ended, for the canonical log line and the metrics.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.types import Scope

if TYPE_CHECKING:
    from .service import Generation, GenerationStats

KEY = "llm_gateway"
OPEN_OWNER = "open"
"""The owner of stored state without API keys: everyone who can reach the server."""


@dataclass(slots=True)
class RequestContext:
    request_id: str = ""
    started: float = field(default_factory=time.perf_counter)
    client: str = ""
    """The client's address (through a trusted proxy: the one it forwarded)."""
    owner: str = OPEN_OWNER
    """Whose stored responses this request may see: the API key's digest, or OPEN_OWNER."""
    key_name: str | None = None
    """The API key's name (OPEN_OWNER without keys; None: no key was asked for, as on the
    health checks and /metrics). What per-key metrics, the log line and quotas use."""
    generation: Generation | None = None
    response_id: str | None = None
    """The id the response carries (`chatcmpl-…`, `msg_…`, `resp_…`), where it has one."""
    stats: GenerationStats | None = None
    """The figures of a request without a generation (embeddings)."""
    error: BaseException | None = None
    """The error the request was answered with, if any."""

    @property
    def figures(self) -> GenerationStats | None:
        return self.generation.stats if self.generation is not None else self.stats


def request_context(scope: Scope) -> RequestContext:
    """This request's context (made here for an app run without the observability
    middleware, as some tests do)."""
    state = scope.setdefault("state", {})
    context = state.get(KEY)
    if context is None:
        context = state[KEY] = RequestContext()
    return context  # type: ignore[no-any-return]
