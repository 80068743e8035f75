"""Stored chat completions (`store: true` on `POST /v1/chat/completions`): list (by model and
`metadata[key]=value`, paginated), retrieve, update metadata, delete, list the request's
messages. Kept in the store under the API key that created them (another key gets a 404)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from ..errors import NotFound
from ..protocol.chat import UpdateChatCompletionRequest
from ..protocol.errors import ErrorResponse
from ..store import Kind
from .gateway import gateway_of, owner_of, stored_object
from .json import json_response
from .openapi import BodyRoute
from .pages import page
from .parsing import parse_body

router = APIRouter()
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No such stored completion (for this key)."}
}
COMPLETION = Kind.COMPLETION


def _missing(completion_id: str) -> NotFound:
    return NotFound(f"Chat completion with id '{completion_id}' not found.", param="completion_id")


async def _record(request: Request, completion_id: str) -> dict[str, Any]:
    return await stored_object(request, COMPLETION, completion_id, _missing)


def _metadata_filter(request: Request) -> dict[str, str]:
    """`metadata[key]=value` query parameters (as the SDKs send a dict)."""
    return {
        key[len("metadata[") : -1]: value
        for key, value in request.query_params.items()
        if key.startswith("metadata[") and key.endswith("]")
    }


@router.get("/v1/chat/completions")
async def list_completions(request: Request) -> Response:
    model = request.query_params.get("model")
    wanted = _metadata_filter(request)
    records = await gateway_of(request).store.list_objects(owner_of(request), COMPLETION)
    completions = [
        completion
        for completion in (r["completion"] for r in records)
        if (model is None or completion["model"] == model)
        and all(completion["metadata"].get(k) == v for k, v in wanted.items())
    ]
    return json_response(page(request, completions, "asc"))


@router.get("/v1/chat/completions/{completion_id}", responses=NOT_FOUND)
async def get_completion(completion_id: str, request: Request) -> Response:
    return json_response((await _record(request, completion_id))["completion"])


async def update_completion(request: Request) -> Response:
    req = await parse_body(request, UpdateChatCompletionRequest)
    completion_id = request.path_params["completion_id"]

    def change(record: dict[str, Any]) -> dict[str, Any]:
        completion = {**record["completion"], "metadata": req.metadata or {}}
        return {**record, "completion": completion}

    updated = await gateway_of(request).store.update_object(
        owner_of(request), COMPLETION, completion_id, change
    )
    if updated is None:
        raise _missing(completion_id)
    return json_response(updated["completion"])


routes = [
    BodyRoute(
        "/v1/chat/completions/{completion_id}",
        update_completion,
        UpdateChatCompletionRequest,
        "Update a stored chat completion's metadata",
        answers="The stored chat completion.",
    )
]


@router.delete("/v1/chat/completions/{completion_id}", responses=NOT_FOUND)
async def delete_completion(completion_id: str, request: Request) -> Response:
    store = gateway_of(request).store
    if not await store.delete_object(owner_of(request), COMPLETION, completion_id):
        raise _missing(completion_id)
    return json_response(
        {"id": completion_id, "object": "chat.completion.deleted", "deleted": True}
    )


@router.get("/v1/chat/completions/{completion_id}/messages", responses=NOT_FOUND)
async def list_messages(completion_id: str, request: Request) -> Response:
    messages = (await _record(request, completion_id))["messages"]
    return json_response(page(request, messages, "asc"))
