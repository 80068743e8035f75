"""An embedding call on its model's backend, holding one of the model's embedding admission
slots (embedding never waits behind generation, nor generation behind it)."""

from __future__ import annotations

import time

from ..backends import Embeddings
from .call import EmbeddingCall
from .generation import GenerationStats


def embedding_stats(call: EmbeddingCall) -> GenerationStats:
    """What observability reads for this request (model, backend, tokens, timings)."""
    served = call.served
    return GenerationStats(
        model=served.id,
        backend=served.backend.name,
        choices=0,
        ignored_params=list(call.ignored),
    )


async def embed(call: EmbeddingCall, stats: GenerationStats) -> Embeddings:
    admission = call.served.embedding_admission
    stats.queue_wait = await admission.acquire()
    stats.started = time.perf_counter()
    try:
        result = await call.served.backend.embed(call.request)
    finally:
        admission.release()
    stats.finished_at = time.perf_counter()
    stats.prompt_tokens = result.prompt_tokens
    return result
