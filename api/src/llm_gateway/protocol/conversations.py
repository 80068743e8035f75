"""The Conversations API's request bodies (`/v1/conversations`): create (initial items and
metadata), update metadata, add items. Items are the Responses API's input items."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from .common import Metadata, OpenAIModel
from .responses import ConversationRef, InputItem

MAX_ITEMS = 20
"""Items added in one request, as OpenAI allows."""


def typed_messages(data: Any) -> Any:
    """`{"role": …, "content": …}` without a `type` is a message item (the SDKs send such)."""
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        items = [
            {**item, "type": "message"}
            if isinstance(item, dict) and "type" not in item and "role" in item
            else item
            for item in data["items"]
        ]
        data = {**data, "items": items}
    return data


class CreateConversationRequest(OpenAIModel):
    items: Annotated[list[InputItem], Field(max_length=MAX_ITEMS)] | None = None
    metadata: Metadata | None = None

    @model_validator(mode="before")
    @classmethod
    def _typed(cls, data: Any) -> Any:
        return typed_messages(data)


class UpdateConversationRequest(OpenAIModel):
    metadata: Metadata


class CreateItemsRequest(OpenAIModel):
    items: Annotated[list[InputItem], Field(min_length=1, max_length=MAX_ITEMS)]

    @model_validator(mode="before")
    @classmethod
    def _typed(cls, data: Any) -> Any:
        return typed_messages(data)


__all__ = [
    "ConversationRef",
    "CreateConversationRequest",
    "CreateItemsRequest",
    "UpdateConversationRequest",
]
