"""`POST /v1/embeddings`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..context import request_context
from ..protocol.embeddings import EmbeddingsRequest
from ..render.embeddings import embeddings_body
from ..service.embeddings import embed, embedding_stats
from ..translate.embeddings import embedding_call
from .gateway import gateway_of
from .json import ignored_params, json_response
from .openapi import BodyRoute
from .parsing import parse_body


async def embeddings(request: Request) -> Response:
    req = await parse_body(request, EmbeddingsRequest)
    gateway = gateway_of(request)
    call = embedding_call(req, gateway.models, gateway.limits, gateway.token_decoder)
    stats = request_context(request.scope).stats = embedding_stats(call)
    result = await embed(call, stats)
    body = embeddings_body(call.served.id, result, req.encoding_format or "float")
    return json_response(body, headers=ignored_params(stats.ignored_params))


routes = [
    BodyRoute(
        "/v1/embeddings",
        embeddings,
        EmbeddingsRequest,
        "Create embeddings",
        "One embedding per input.",
    )
]
