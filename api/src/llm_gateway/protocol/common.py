"""Pieces shared by the chat and text completion requests."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_STOP_SEQUENCES = 4
_TOKEN_ID = re.compile(r"[0-9]{1,10}")  # ASCII digits; no vocabulary has 10-digit ids


ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
Verbosity = Literal["low", "medium", "high"]
PromptCacheRetention = Literal["in_memory", "24h"]


class ParamError(ValueError):
    """A rule across fields, naming the one the client must fix (the 400's `param`)."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


class OpenAIModel(BaseModel):
    """Strict JSON types; unknown fields are kept (and reported as ignored), never a 400."""

    model_config = ConfigDict(strict=True, extra="allow", protected_namespaces=())


class StreamOptions(OpenAIModel):
    include_usage: bool = False
    include_obfuscation: bool | None = None


PositiveTokens = Annotated[int, Field(ge=1)]
Seed = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]  # int64, as the spec says
SafetyIdentifier = Annotated[str, Field(max_length=64)]
Metadata = Annotated[
    dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=512)]],
    Field(max_length=16),
]
Temperature = Annotated[float, Field(ge=0.0, le=2.0)]
TopP = Annotated[float, Field(ge=0.0, le=1.0)]
Penalty = Annotated[float, Field(ge=-2.0, le=2.0)]


class SamplingFields(OpenAIModel):
    """Fields common to `/v1/chat/completions` and `/v1/completions`."""

    model: Annotated[str, Field(min_length=1, max_length=256)]
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    n: Annotated[int, Field(ge=1, le=128)] | None = 1
    stop: str | list[str] | None = None
    max_tokens: PositiveTokens | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    seed: Seed | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    logit_bias: dict[str, Annotated[float, Field(ge=-100, le=100)]] | None = None
    user: Annotated[str, Field(max_length=512)] | None = None
    safety_identifier: SafetyIdentifier | None = None

    @field_validator("stop")
    @classmethod
    def _stop_sequences(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list):
            if not value:
                raise ValueError("give at least one stop sequence, or leave 'stop' out")
            if len(value) > MAX_STOP_SEQUENCES:
                raise ValueError(f"at most {MAX_STOP_SEQUENCES} stop sequences are allowed")
            if any(not s for s in value):
                raise ValueError("stop sequences must be non-empty strings")
        return value

    @field_validator("logit_bias")
    @classmethod
    def _token_ids(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        # Not `str.isdigit()`: it accepts "²" and other scripts' digits, which `int()`
        # refuses, and a number of any length (`int()` refuses over 4300 digits).
        if value is not None:
            for key in value:
                if not _TOKEN_ID.fullmatch(key):
                    raise ValueError(f"logit_bias keys must be token ids, got {key[:32]!r}")
        return value

    @model_validator(mode="after")
    def _stream_options_need_stream(self) -> SamplingFields:
        if self.stream_options is not None and not self.stream:
            raise ParamError(
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                "stream_options",
            )
        return self

    @property
    def stop_list(self) -> list[str]:
        if self.stop is None or self.stop == "":
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    def given_fields(self) -> set[str]:
        """Fields the client actually sent (explicit nulls don't count as asking)."""
        sent = {name for name in self.model_fields_set if getattr(self, name) is not None}
        sent |= set(self.model_extra or {})
        return sent
