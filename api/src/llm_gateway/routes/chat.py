"""`POST /v1/chat/completions`."""

from __future__ import annotations

from starlette.requests import Request

from ..context import request_context
from ..protocol.chat import ChatCompletionRequest
from ..render import ChatRenderer
from ..translate.chat import chat_call
from .gateway import gateway_of
from .openapi import BodyRoute
from .parsing import parse_body
from .respond import GenerationResponse


async def chat_completions(request: Request) -> GenerationResponse:
    req = await parse_body(request, ChatCompletionRequest)
    gateway = gateway_of(request)
    store = None
    if req.store:
        store = gateway.store
        await store.ping()  # fail before generating, not after
    owner = request_context(request.scope).owner
    generation = gateway.start(chat_call(req, gateway.models, gateway.limits, store, owner))
    renderer = ChatRenderer(generation, include_usage=req.include_usage)
    return gateway.respond(generation, renderer, req.stream)


routes = [
    BodyRoute(
        "/v1/chat/completions", chat_completions, ChatCompletionRequest, "Create a chat completion"
    )
]
