"""Model backends behind one streaming interface. Backends know nothing about HTTP."""

from .base import Backend, BackendSettings
from .types import (
    Delta,
    EmbeddingRequest,
    Embeddings,
    FinishReason,
    GenerationRequest,
    Message,
    TokenLogprob,
    ToolCallDelta,
    ToolSpec,
)

__all__ = [
    "Backend",
    "BackendSettings",
    "Delta",
    "EmbeddingRequest",
    "Embeddings",
    "FinishReason",
    "GenerationRequest",
    "Message",
    "TokenLogprob",
    "ToolCallDelta",
    "ToolSpec",
]
