"""Model backends behind one streaming interface. Backends know nothing about HTTP."""

from .base import Backend, BackendSettings, ChoiceDelta, SingleChoiceBackend, choice_requests
from .types import (
    Delta,
    EmbeddingRequest,
    Embeddings,
    FinishReason,
    GenerationRequest,
    Message,
    PromptGroup,
    TokenLogprob,
    ToolCallDelta,
    ToolSpec,
)

__all__ = [
    "Backend",
    "BackendSettings",
    "ChoiceDelta",
    "Delta",
    "EmbeddingRequest",
    "Embeddings",
    "FinishReason",
    "GenerationRequest",
    "Message",
    "PromptGroup",
    "SingleChoiceBackend",
    "TokenLogprob",
    "ToolCallDelta",
    "ToolSpec",
    "choice_requests",
]
