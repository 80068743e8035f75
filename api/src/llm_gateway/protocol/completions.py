"""`POST /v1/completions` (legacy text completions) request model."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from .common import ParamError, SamplingFields

DEFAULT_COMPLETION_TOKENS = 16  # the OpenAI default for this endpoint


class CompletionRequest(SamplingFields):
    prompt: str | Annotated[list[str], Field(min_length=1)]
    max_tokens: Annotated[int, Field(ge=0)] | None = DEFAULT_COMPLETION_TOKENS
    echo: bool | None = False
    suffix: str | None = None
    best_of: Annotated[int, Field(ge=0, le=20)] | None = None
    logprobs: Annotated[int, Field(ge=0, le=5)] | None = None

    @model_validator(mode="after")
    def _best_of_covers_n(self) -> CompletionRequest:
        if self.best_of is not None and self.best_of < (self.n or 1):
            raise ParamError("'best_of' must be greater than or equal to 'n'.", "best_of")
        return self

    @property
    def prompts(self) -> list[str]:
        return [self.prompt] if isinstance(self.prompt, str) else list(self.prompt)
