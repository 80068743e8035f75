"""Renderers: one per API shape, turning a generation's events into the wire format.

Each has `.sse()` (the stream's event bytes, ending with `[DONE]`) and `.body()` (the same
events folded into one response body), so streaming and non-streaming cannot disagree.
They know the OpenAI shapes and nothing of HTTP; `routes/` sends what they produce.
"""

from .base import Renderer
from .chat import ChatRenderer
from .completions import CompletionRenderer

__all__ = ["ChatRenderer", "CompletionRenderer", "Renderer"]
