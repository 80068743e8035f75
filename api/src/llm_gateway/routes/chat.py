from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ..protocol.chat import ChatCompletionRequest
from ..service import CompletionService
from ..service.render_chat import chat_body, chat_sse
from ..service.sse import guard_stream
from .openapi import completion_route_docs
from .parsing import parse_body
from .responses import respond

router = APIRouter()


@router.post("/v1/chat/completions", **completion_route_docs(ChatCompletionRequest))
async def chat_completions(request: Request) -> Response:
    req = await parse_body(request, ChatCompletionRequest)
    service: CompletionService = request.app.state.service
    generation = service.chat(req)
    return await respond(
        request,
        generation,
        stream=bool(req.stream),
        encode=lambda: guard_stream(chat_sse(generation, req.include_usage), generation.stats),
        fold=lambda: chat_body(generation),
    )
