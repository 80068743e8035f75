"""The Conversations API: a conversation (metadata) and its items, kept in the store under
the API key that created them (another key gets a 404). `POST /v1/responses` with
`conversation` reads the items and appends to them (translate/responses.py)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response

from ..errors import NotFound
from ..protocol.conversations import (
    CreateConversationRequest,
    CreateItemsRequest,
    UpdateConversationRequest,
)
from ..protocol.errors import ErrorResponse
from ..protocol.ids import new_id
from ..store import Kind
from ..translate.responses import resolve_items
from .gateway import gateway_of, owner_of, stored_object
from .json import json_response
from .openapi import BodyRoute
from .pages import page, whole
from .parsing import parse_body

router = APIRouter()
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No such conversation or item (for this key)."}
}
CONVERSATION = Kind.CONVERSATION


def _missing(conversation_id: str) -> NotFound:
    return NotFound(f"Conversation with id '{conversation_id}' not found.", param="conversation_id")


async def _conversation(request: Request, conversation_id: str) -> dict[str, Any]:
    return await stored_object(request, CONVERSATION, conversation_id, _missing)


async def _items(request: Request, conversation_id: str) -> list[dict[str, Any]]:
    items = await gateway_of(request).store.conversation_items(owner_of(request), conversation_id)
    if items is None:
        raise _missing(conversation_id)
    return items


async def create_conversation(request: Request) -> Response:
    req = await parse_body(request, CreateConversationRequest)
    store, owner = gateway_of(request).store, owner_of(request)
    items = await resolve_items(req.items or [], owner, store, "items")
    conversation_id = new_id("conv")
    conversation: dict[str, Any] = {
        "id": conversation_id,
        "object": "conversation",
        "created_at": int(time.time()),
        "metadata": req.metadata or {},
    }
    await store.put_object(owner, CONVERSATION, conversation_id, conversation, items)
    return json_response(conversation)


async def update_conversation(request: Request) -> Response:
    req = await parse_body(request, UpdateConversationRequest)
    conversation_id = request.path_params["conversation_id"]
    updated = await gateway_of(request).store.update_object(
        owner_of(request), CONVERSATION, conversation_id, lambda c: {**c, "metadata": req.metadata}
    )
    if updated is None:
        raise _missing(conversation_id)
    return json_response(updated)


async def create_items(request: Request) -> Response:
    req = await parse_body(request, CreateItemsRequest)
    conversation_id = request.path_params["conversation_id"]
    store, owner = gateway_of(request).store, owner_of(request)
    items = await resolve_items(req.items, owner, store, "items")
    if not await store.append_items(owner, conversation_id, items):
        raise _missing(conversation_id)
    return json_response(whole(items))


routes = [
    BodyRoute(
        "/v1/conversations",
        create_conversation,
        CreateConversationRequest,
        "Create a conversation",
        answers="The conversation.",
    ),
    BodyRoute(
        "/v1/conversations/{conversation_id}",
        update_conversation,
        UpdateConversationRequest,
        "Update a conversation's metadata",
        answers="The conversation.",
    ),
    BodyRoute(
        "/v1/conversations/{conversation_id}/items",
        create_items,
        CreateItemsRequest,
        "Add items to a conversation (at most 20)",
        answers="The items added.",
    ),
]


@router.get("/v1/conversations/{conversation_id}", responses=NOT_FOUND)
async def get_conversation(conversation_id: str, request: Request) -> Response:
    return json_response(await _conversation(request, conversation_id))


@router.delete("/v1/conversations/{conversation_id}", responses=NOT_FOUND)
async def delete_conversation(conversation_id: str, request: Request) -> Response:
    store = gateway_of(request).store
    if not await store.delete_object(owner_of(request), CONVERSATION, conversation_id):
        raise _missing(conversation_id)
    return json_response({"id": conversation_id, "object": "conversation.deleted", "deleted": True})


@router.get("/v1/conversations/{conversation_id}/items", responses=NOT_FOUND)
async def list_items(conversation_id: str, request: Request) -> Response:
    """`include` is accepted: nothing this server stores has the extra data it asks for."""
    items = await _items(request, conversation_id)
    return json_response(page(request, items, "desc"))


@router.get("/v1/conversations/{conversation_id}/items/{item_id}", responses=NOT_FOUND)
async def get_item(conversation_id: str, item_id: str, request: Request) -> Response:
    for item in await _items(request, conversation_id):
        if item["id"] == item_id:
            return json_response(item)
    raise NotFound(f"Item with id '{item_id}' not found.", param="item_id")


@router.delete("/v1/conversations/{conversation_id}/items/{item_id}", responses=NOT_FOUND)
async def delete_item(conversation_id: str, item_id: str, request: Request) -> Response:
    """Answers the conversation the item was removed from, as OpenAI does."""
    conversation = await _conversation(request, conversation_id)
    if not await gateway_of(request).store.delete_item(owner_of(request), conversation_id, item_id):
        raise NotFound(f"Item with id '{item_id}' not found.", param="item_id")
    return json_response(conversation)
