"""`POST /v1/completions` (legacy text completions)."""

from __future__ import annotations

from starlette.requests import Request

from ..protocol.completions import CompletionRequest
from ..render import CompletionRenderer
from ..translate.completions import completion_call
from .gateway import gateway_of
from .openapi import BodyRoute
from .parsing import parse_body
from .respond import GenerationResponse


async def completions(request: Request) -> GenerationResponse:
    req = await parse_body(request, CompletionRequest)
    gateway = gateway_of(request)
    generation = gateway.start(completion_call(req, gateway.models, gateway.limits))
    renderer = CompletionRenderer(generation, include_usage=req.include_usage, echo=bool(req.echo))
    return gateway.respond(generation, renderer, req.stream)


routes = [BodyRoute("/v1/completions", completions, CompletionRequest, "Create a text completion")]
