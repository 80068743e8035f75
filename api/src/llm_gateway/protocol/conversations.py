"""The Conversations API's request bodies (`/v1/conversations`): create (initial items and
metadata), update metadata, add items. Items are the Responses API's input items."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from .common import Metadata, OpenAIModel
from .responses import InputItem, typed_message_items

MAX_ITEMS = 20
"""Items added in one request, as OpenAI allows."""


class CreateConversationRequest(OpenAIModel):
    items: Annotated[list[InputItem], Field(max_length=MAX_ITEMS)] | None = None
    metadata: Metadata | None = None

    @model_validator(mode="before")
    @classmethod
    def _typed(cls, data: Any) -> Any:
        return typed_message_items(data, "items")


class UpdateConversationRequest(OpenAIModel):
    metadata: Metadata


class CreateItemsRequest(OpenAIModel):
    items: Annotated[list[InputItem], Field(min_length=1, max_length=MAX_ITEMS)]

    @model_validator(mode="before")
    @classmethod
    def _typed(cls, data: Any) -> Any:
        return typed_message_items(data, "items")
