from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ..protocol.completions import CompletionRequest
from ..service import CompletionService
from ..service.render_text import text_body, text_sse
from ..service.sse import guard_stream
from .openapi import completion_route_docs
from .parsing import parse_body
from .responses import respond

router = APIRouter()


@router.post("/v1/completions", **completion_route_docs(CompletionRequest))
async def completions(request: Request) -> Response:
    req = await parse_body(request, CompletionRequest)
    service: CompletionService = request.app.state.service
    generation = service.complete(req)
    echo = bool(req.echo)
    return await respond(
        request,
        generation,
        stream=bool(req.stream),
        encode=lambda: guard_stream(
            text_sse(generation, include_usage=req.include_usage, echo=echo), generation.stats
        ),
        fold=lambda: text_body(generation, echo=echo),
    )
