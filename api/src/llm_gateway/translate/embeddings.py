"""`POST /v1/embeddings` → an `EmbeddingCall`: the model, the inputs (token-id input read as
text when the server decodes OpenAI's tokenizer), the limits checked."""

from __future__ import annotations

from ..backends import EmbeddingRequest
from ..errors import APIError, InvalidRequest
from ..protocol.embeddings import EmbeddingsRequest
from ..service.call import EmbeddingCall
from ..service.limits import Limits
from ..service.registry import ModelRegistry
from .openai_tokens import Cl100kDecoder, TokenizerMissing

HANDLED = frozenset({"model", "input", "encoding_format", "user", "dimensions"})
"""Embedding fields this translator honours (`dimensions` where the backend can)."""


def _inputs(
    req: EmbeddingsRequest, limits: Limits, decoder: Cl100kDecoder | None
) -> tuple[str | tuple[int, ...], ...]:
    inputs: list[str | tuple[int, ...]] = []
    for index, value in enumerate(req.inputs):
        if isinstance(value, str):
            inputs.append(value)
        elif decoder is not None:
            param = "input" if len(req.inputs) == 1 else f"input[{index}]"
            try:
                inputs.append(decoder.decode(value, param))
            except TokenizerMissing as exc:
                raise APIError("This server cannot read token-id input right now.") from exc
        else:
            inputs.append(tuple(value))
    limits.check_chars(sum(len(i) for i in inputs if isinstance(i, str)), "input", "input")
    return tuple(inputs)


def embedding_call(
    req: EmbeddingsRequest,
    models: ModelRegistry,
    limits: Limits,
    decoder: Cl100kDecoder | None,
) -> EmbeddingCall:
    """`decoder`: cl100k_base token ids → text (None: ids are the model's own)."""
    served = models.resolve(req.model, "embeddings")
    if req.dimensions is not None and not served.backend.supports_dimensions:
        raise InvalidRequest(
            f"The model '{req.model}' does not support 'dimensions'.", param="dimensions"
        )
    request = EmbeddingRequest(
        inputs=_inputs(req, limits, decoder), dimensions=req.dimensions, model=req.model
    )
    return EmbeddingCall(served, request, tuple(sorted(req.given_fields() - HANDLED)))
