"""Model backends behind one streaming interface. Backends know nothing about HTTP."""

from .base import Backend
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
    "Delta",
    "FinishReason",
    "GenerationRequest",
    "Message",
    "TokenLogprob",
    "ToolCallDelta",
    "ToolSpec",
]
