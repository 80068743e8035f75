"""What the routes use of the app, as one typed value (`app.state.gateway`)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from ..lifecycle import ShutdownSignal
from ..render import Renderer
from ..service import Call, Generation, ModelRegistry
from ..service.limits import Limits
from ..store import ResponseStore
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


def gateway_of(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway
