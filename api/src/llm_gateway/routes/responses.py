"""The Responses API: create (streamed or not), retrieve, list input items, delete.

Stored responses are scoped by the API key that created them: another key gets a 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from ..errors import NotFound
from ..protocol.errors import ErrorResponse
from ..protocol.responses import CreateResponseRequest
from ..render.responses import ResponsesRenderer
from ..store import StoredResponse
from ..translate.responses import response_call
from .gateway import gateway_of, owner_of
from .json import json_response
from .openapi import BodyRoute
from .pages import page
from .parsing import parse_body
from .respond import GenerationResponse

router = APIRouter()
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No such response (for this key)."}
}


async def _stored(request: Request, response_id: str) -> StoredResponse:
    record = await gateway_of(request).store.get(owner_of(request), response_id)
    if record is None:
        raise NotFound(f"No response found with id '{response_id}'.", param="response_id")
    return record


async def create_response(request: Request) -> GenerationResponse:
    req = await parse_body(request, CreateResponseRequest)
    gateway = gateway_of(request)
    call = await response_call(
        req, gateway.models, gateway.limits, gateway.store, owner_of(request)
    )
    generation = gateway.start(call)
    return gateway.respond(generation, ResponsesRenderer(generation, req), req.stream)


routes = [
    BodyRoute("/v1/responses", create_response, CreateResponseRequest, "Create a model response")
]


@router.get("/v1/responses/{response_id}", responses=NOT_FOUND)
async def get_response(response_id: str, request: Request) -> Response:
    return json_response((await _stored(request, response_id)).response)


@router.get("/v1/responses/{response_id}/input_items", responses=NOT_FOUND)
async def list_input_items(response_id: str, request: Request) -> Response:
    items = (await _stored(request, response_id)).input_items
    return json_response(page(request, items, "desc"))


@router.delete("/v1/responses/{response_id}", responses=NOT_FOUND)
async def delete_response(response_id: str, request: Request) -> Response:
    if not await gateway_of(request).store.delete(owner_of(request), response_id):
        raise NotFound(f"No response found with id '{response_id}'.", param="response_id")
    return json_response({"id": response_id, "object": "response", "deleted": True})
