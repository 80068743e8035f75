"""Between routes and backends: a translated `Call` on its model's backend — admission (a
bounded queue, then 429), one stream of generation events, usage. Nothing here knows HTTP
or a wire format."""

from .call import Call, EmbeddingCall
from .generation import Generation, GenerationStats
from .registry import ModelRegistry, ServedModel

__all__ = ["Call", "EmbeddingCall", "Generation", "GenerationStats", "ModelRegistry", "ServedModel"]
