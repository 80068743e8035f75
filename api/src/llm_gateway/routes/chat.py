from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ..protocol.chat import ChatCompletionRequest
from ..render import ChatRenderer
from .direct import direct
from .openapi import completion_route_docs
from .parsing import parse_body
from .respond import GenerationResponse

router = APIRouter()


@router.post("/v1/chat/completions", **completion_route_docs(ChatCompletionRequest))
@direct
async def chat_completions(request: Request) -> Response:
    req = await parse_body(request, ChatCompletionRequest)
    generation = request.app.state.service.chat(req)
    renderer = ChatRenderer(generation, include_usage=req.include_usage)
    return GenerationResponse(
        generation, renderer, stream=bool(req.stream), shutdown=request.app.state.shutting_down
    )
