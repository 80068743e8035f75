"""What the routes use of the app, as one typed value (`app.state.gateway`)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from ..lifecycle import ShutdownSignal
from ..service import Call, Generation, ModelRegistry
from ..service.limits import Limits
from ..store import ResponseStore
from ..translate.openai_tokens import Cl100kDecoder


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

    def start(self, call: Call) -> Generation:
        """The generation of a translated call (it starts when its response is sent)."""
        return Generation(call, keep_output=self.keep_output)


def gateway_of(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway
