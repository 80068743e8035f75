"""What the routes use of the app, as one typed value (`app.state.gateway`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from ..context import request_context
from ..errors import APIError
from ..lifecycle import ShutdownSignal
from ..render import Renderer
from ..service import Call, Generation, ModelRegistry
from ..service.limits import Limits
from ..store import Kind, ResponseStore
from ..translate.openai_tokens import Cl100kDecoder
from .respond import GenerationResponse


@dataclass(frozen=True, slots=True)
class Gateway:
    models: ModelRegistry
    limits: Limits
    store: ResponseStore
    shutdown: ShutdownSignal
    token_decoder: Cl100kDecoder | None
    """cl100k_base token ids → text for /v1/embeddings (None: ids are the model's own)."""
    keep_output: bool = False
    """LOG_CONTENT: keep each generation's output text for the log line."""
    keepalive: float = 0.0
    """STREAM_KEEPALIVE_SECONDS: see `GenerationResponse`."""

    def start(self, call: Call) -> Generation:
        """The generation of a translated call (it starts when its response is sent)."""
        return Generation(call, keep_output=self.keep_output)

    def respond(
        self, generation: Generation, renderer: Renderer, stream: bool | None
    ) -> GenerationResponse:
        """The response that sends it: the renderer's SSE events, or its folded body."""
        return GenerationResponse(
            generation,
            renderer,
            stream=bool(stream),
            shutdown=self.shutdown,
            keepalive=self.keepalive,
        )


def owner_of(request: Request) -> str:
    """Whose stored objects this request may see (the API key's digest, or everyone's)."""
    return request_context(request.scope).owner


def gateway_of(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


async def stored_object(
    request: Request, kind: Kind, object_id: str, missing: Callable[[str], APIError]
) -> dict[str, Any]:
    """The caller's stored object of `kind` (a conversation, a chat completion), or the
    route's own 404 (`missing(object_id)`) — another key's objects do not exist for it."""
    found = await gateway_of(request).store.get_object(owner_of(request), kind, object_id)
    if found is None:
        raise missing(object_id)
    return found
