from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ..protocol.completions import CompletionRequest
from ..render import CompletionRenderer
from .direct import direct
from .openapi import completion_route_docs
from .parsing import parse_body
from .respond import GenerationResponse

router = APIRouter()


@router.post("/v1/completions", **completion_route_docs(CompletionRequest))
@direct
async def completions(request: Request) -> Response:
    req = await parse_body(request, CompletionRequest)
    generation = request.app.state.service.complete(req)
    renderer = CompletionRenderer(generation, include_usage=req.include_usage, echo=bool(req.echo))
    return GenerationResponse(
        generation, renderer, stream=bool(req.stream), shutdown=request.app.state.shutting_down
    )
