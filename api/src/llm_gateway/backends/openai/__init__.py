"""MODEL_BACKEND=openai: forward to any OpenAI-compatible server (UPSTREAM_BASE_URL)."""

from .backend import OpenAIBackend
from .settings import UpstreamSettings

__all__ = ["OpenAIBackend", "UpstreamSettings"]
