"""The Anthropic Messages API: `POST /v1/messages` (streamed or not) and
`POST /v1/messages/count_tokens`. Claude Code adds `?beta=true`; the query string is not read.
Errors on these paths are Anthropic's error objects (`http_errors`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..protocol.errors import AnthropicErrorResponse
from ..protocol.messages import CountTokensRequest, MessagesRequest
from ..render.messages import MessagesRenderer
from ..translate.messages import count_request, message_call
from .gateway import gateway_of
from .json import ignored_params, json_response
from .openapi import BodyRoute
from .parsing import parse_body
from .respond import GenerationResponse


async def create_message(request: Request) -> GenerationResponse:
    req = await parse_body(request, MessagesRequest)
    gateway = gateway_of(request)
    generation = gateway.start(message_call(req, gateway.models, gateway.limits))
    return gateway.respond(generation, MessagesRenderer(generation), req.stream)


async def count_tokens(request: Request) -> Response:
    req = await parse_body(request, CountTokensRequest)
    gateway = gateway_of(request)
    served, prompt = count_request(req, gateway.models, gateway.limits)
    tokens = await served.backend.count_tokens(prompt)
    return json_response(
        {"input_tokens": tokens}, headers=ignored_params(sorted(req.ignored_fields()))
    )


routes = [
    BodyRoute(
        "/v1/messages",
        create_message,
        MessagesRequest,
        "Create a message (Anthropic)",
        error=AnthropicErrorResponse,
    ),
    BodyRoute(
        "/v1/messages/count_tokens",
        count_tokens,
        CountTokensRequest,
        "Count the tokens of a message (Anthropic)",
        '`{"input_tokens": N}`: the prompt\'s tokens, as the model reads it.',
        error=AnthropicErrorResponse,
    ),
]
