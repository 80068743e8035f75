"""Between routes and backends: resolve the model, apply limits, take a slot, run the
generation as one stream of events. Nothing here knows HTTP or a wire format."""

from .generation import Generation
from .registry import ModelRegistry, ServedModel
from .requests import GenerationService

__all__ = ["Generation", "GenerationService", "ModelRegistry", "ServedModel"]
