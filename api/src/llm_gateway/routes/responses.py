"""The Responses API: create (streamed or not), retrieve, list input items, delete.

Stored responses are scoped by the API key that created them: another key gets a 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from ..context import request_context
from ..errors import InvalidRequest, NotFound
from ..protocol.errors import ErrorResponse
from ..protocol.responses import CreateResponseRequest
from ..render.responses import ResponsesRenderer
from ..store import StoredResponse
from ..translate.responses import response_call
from .gateway import gateway_of
from .json import json_response
from .openapi import BodyRoute
from .parsing import parse_body
from .respond import GenerationResponse

router = APIRouter()
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No such response (for this key)."}
}


def _owner(request: Request) -> str:
    return request_context(request.scope).owner


async def _stored(request: Request, response_id: str) -> StoredResponse:
    record = await gateway_of(request).store.get(_owner(request), response_id)
    if record is None:
        raise NotFound(f"No response found with id '{response_id}'.", param="response_id")
    return record


async def create_response(request: Request) -> GenerationResponse:
    req = await parse_body(request, CreateResponseRequest)
    gateway = gateway_of(request)
    call = await response_call(req, gateway.models, gateway.limits, gateway.store, _owner(request))
    generation = gateway.start(call)
    return gateway.respond(generation, ResponsesRenderer(generation, req), req.stream)


routes = [
    BodyRoute("/v1/responses", create_response, CreateResponseRequest, "Create a model response")
]


@router.get("/v1/responses/{response_id}", responses=NOT_FOUND)
async def get_response(response_id: str, request: Request) -> Response:
    return json_response((await _stored(request, response_id)).response)


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidRequest(f"'{name}' must be an integer from {low} to {high}.", param=name)
    return int(raw)


@router.get("/v1/responses/{response_id}/input_items", responses=NOT_FOUND)
async def list_input_items(response_id: str, request: Request) -> Response:
    limit = _int_param(request, "limit", 20, 1, 100)
    order = request.query_params.get("order", "desc")
    if order not in {"asc", "desc"}:
        raise InvalidRequest("'order' must be 'asc' or 'desc'.", param="order")
    items = list((await _stored(request, response_id)).input_items)
    if order == "desc":
        items.reverse()
    after = request.query_params.get("after")
    if after is not None:
        ids = [item["id"] for item in items]
        if after not in ids:
            raise InvalidRequest(f"No input item with id '{after}'.", param="after")
        items = items[ids.index(after) + 1 :]
    page = items[:limit]
    return json_response(
        {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(items) > limit,
        }
    )


@router.delete("/v1/responses/{response_id}", responses=NOT_FOUND)
async def delete_response(response_id: str, request: Request) -> Response:
    if not await gateway_of(request).store.delete(_owner(request), response_id):
        raise NotFound(f"No response found with id '{response_id}'.", param="response_id")
    return json_response({"id": response_id, "object": "response", "deleted": True})
