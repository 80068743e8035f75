"""Model backends behind one streaming interface. Backends know nothing about HTTP."""

from .base import Backend, BackendSettings
from .types import (
    Delta,
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
    "FinishReason",
    "GenerationRequest",
    "Message",
    "TokenLogprob",
    "ToolCallDelta",
    "ToolSpec",
]
