"""The error objects (OpenAI's; Anthropic's on the Messages API), as models for the API's own
OpenAPI document.

`errors.error_body()` builds these bodies; this model only describes them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class ErrorObject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    error: ErrorObject


class AnthropicErrorObject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    message: str


class AnthropicErrorResponse(BaseModel):
    """Anthropic's error object, answered on the Messages API's paths."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["error"]
    error: AnthropicErrorObject
