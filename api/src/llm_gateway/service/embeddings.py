"""`/v1/embeddings` requests → the model's backend: limits, token-id input, a slot of the
model's embedding slots (embedding never waits behind generation, nor generation behind it)."""

from __future__ import annotations

import time

from ..backends import EmbeddingRequest, Embeddings
from ..errors import APIError, InvalidRequest
from ..protocol.embeddings import EmbeddingsRequest
from .generation import GenerationStats
from .openai_tokens import Cl100kDecoder, TokenizerMissing
from .registry import ServedModel
from .requests import GenerationService

HANDLED_FIELDS = frozenset({"model", "input", "encoding_format", "user"})


class EmbeddingsService:
    def __init__(self, generations: GenerationService, decoder: Cl100kDecoder | None) -> None:
        self.generations = generations
        self.decoder = decoder

    def _inputs(self, req: EmbeddingsRequest) -> tuple[str | tuple[int, ...], ...]:
        inputs: list[str | tuple[int, ...]] = []
        for index, value in enumerate(req.inputs):
            if isinstance(value, str):
                inputs.append(value)
            elif self.decoder is not None:
                param = "input" if len(req.inputs) == 1 else f"input[{index}]"
                try:
                    inputs.append(self.decoder.decode(value, param))
                except TokenizerMissing as exc:
                    raise APIError("This server cannot read token-id input right now.") from exc
            else:
                inputs.append(tuple(value))
        chars = sum(len(i) for i in inputs if isinstance(i, str))
        self.generations.limits.check_chars(chars, "input", "input")
        return tuple(inputs)

    async def embed(
        self, req: EmbeddingsRequest, stats: GenerationStats | None = None
    ) -> tuple[ServedModel, Embeddings]:
        served = self.generations.resolve(req.model)
        backend = served.backend
        if "embeddings" not in served.endpoints:
            raise InvalidRequest(
                f"The model '{req.model}' does not support embeddings.", param="model"
            )
        if req.dimensions is not None and not backend.supports_dimensions:
            raise InvalidRequest(
                f"The model '{req.model}' does not support 'dimensions'.", param="dimensions"
            )
        request = EmbeddingRequest(
            inputs=self._inputs(req), dimensions=req.dimensions, model=req.model
        )
        slots = served.embedding_slots
        wait = await slots.acquire()
        try:
            if stats is not None:
                stats.queue_wait, stats.started = wait, time.perf_counter()
            result = await backend.embed(request)
        finally:
            slots.release()
        if stats is not None:
            stats.finished_at = time.perf_counter()
            stats.prompt_tokens = result.prompt_tokens
        return served, result

    def stats(self, req: EmbeddingsRequest) -> GenerationStats:
        """What observability reads for this request (model, backend, tokens, timings)."""
        served = self.generations.registry.get(req.model)
        ignored = req.given_fields() - HANDLED_FIELDS - {"dimensions"}
        return GenerationStats(
            model=served.id, backend=served.backend.name, choices=0, ignored_params=sorted(ignored)
        )
