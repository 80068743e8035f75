from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ..protocol.embeddings import EmbeddingsRequest
from ..render.embeddings import embeddings_body
from ..service.embeddings import EmbeddingsService
from .direct import direct
from .json import ignored_params, json_response
from .openapi import completion_route_docs
from .parsing import parse_body

router = APIRouter()


@router.post("/v1/embeddings", **completion_route_docs(EmbeddingsRequest))
@direct
async def embeddings(request: Request) -> Response:
    req = await parse_body(request, EmbeddingsRequest)
    service: EmbeddingsService = request.app.state.embeddings
    stats = service.stats(req)
    request.scope.setdefault("state", {})["stats"] = stats
    served, result = await service.embed(req, stats)
    body = embeddings_body(served.id, result, req.encoding_format or "float")
    return json_response(body, headers=ignored_params(stats.ignored_params))
