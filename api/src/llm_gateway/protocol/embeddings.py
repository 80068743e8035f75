"""`POST /v1/embeddings` request model."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from .common import OpenAIModel

MAX_INPUTS = 2048  # OpenAI's limit on items per request

Text = Annotated[str, Field(min_length=1)]
TokenIds = Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=1)]


class EmbeddingsRequest(OpenAIModel):
    model: Annotated[str, Field(min_length=1, max_length=256)]
    input: (
        Text
        | Annotated[list[Text], Field(min_length=1, max_length=MAX_INPUTS)]
        | TokenIds
        | Annotated[list[TokenIds], Field(min_length=1, max_length=MAX_INPUTS)]
    )
    encoding_format: Literal["float", "base64"] | None = "float"
    dimensions: Annotated[int, Field(ge=1)] | None = None
    user: Annotated[str, Field(max_length=512)] | None = None

    @field_validator("input")
    @classmethod
    def _token_lists_are_short(
        cls, value: str | list[str] | list[int] | list[list[int]]
    ) -> str | list[str] | list[int] | list[list[int]]:
        if isinstance(value, list) and value and isinstance(value[0], int) and len(value) > 8192:
            raise ValueError("a token array may hold at most 8192 tokens")
        return value

    @property
    def inputs(self) -> list[str | list[int]]:
        """One entry per embedding to return: a text or one token array."""
        value = self.input
        if isinstance(value, str):
            return [value]
        if value and isinstance(value[0], int):
            return [list(value)]
        return list(value)  # type: ignore[arg-type]

    def given_fields(self) -> set[str]:
        sent = {name for name in self.model_fields_set if getattr(self, name) is not None}
        return sent | set(self.model_extra or {})
