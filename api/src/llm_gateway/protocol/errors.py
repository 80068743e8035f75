"""The OpenAI error object, as a model for the API's own OpenAPI document.

`errors.error_body()` builds these bodies; this model only describes them."""

from __future__ import annotations

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
