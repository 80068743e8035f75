"""Between routes and backends: resolve the model, take a slot, run the stream, render it."""

from .completions import CompletionService
from .generation import Generation
from .registry import ModelRegistry, ServedModel

__all__ = ["CompletionService", "Generation", "ModelRegistry", "ServedModel"]
