"""`POST /v1/chat/completions` request model."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from .common import (
    Metadata,
    OpenAIModel,
    ParamError,
    PromptCacheRetention,
    ReasoningEffort,
    SamplingFields,
    Verbosity,
)

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class ContentPart(OpenAIModel):
    """One part of an array content. Only `text` parts carry text; others are typed."""

    type: Annotated[str, Field(min_length=1, max_length=64)]
    text: str | None = None

    @model_validator(mode="after")
    def _text_part(self) -> ContentPart:
        if self.type in {"text", "refusal", "input_text"} and self.text is None:
            raise ValueError(f"a '{self.type}' content part needs a string 'text'")
        return self


class FunctionCall(OpenAIModel):
    name: str
    arguments: str


class ToolCall(OpenAIModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(OpenAIModel):
    role: Role
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    @model_validator(mode="after")
    def _role_rules(self) -> ChatMessage:
        if self.role == "assistant":
            if self.content is None and not self.tool_calls:
                raise ValueError("an assistant message needs 'content' or 'tool_calls'")
        elif self.content is None:
            raise ValueError(f"a '{self.role}' message needs 'content'")
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a 'tool' message needs 'tool_call_id'")
        return self

    def text(self) -> str:
        """The message text: a string, or its text parts joined."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text or "" for p in self.content if p.text is not None)

    def non_text_part_types(self) -> list[str]:
        if isinstance(self.content, list):
            return [p.type for p in self.content if p.type not in {"text", "input_text"}]
        return []


class JSONSchemaFormat(OpenAIModel):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    description: str | None = None
    schema_: Annotated[dict[str, Any] | None, Field(alias="schema")] = None
    strict: bool | None = None


class ResponseFormat(OpenAIModel):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("type 'json_schema' needs a 'json_schema' object")
        return self


class FunctionDefinition(OpenAIModel):
    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-zA-Z0-9_-]+$")]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(OpenAIModel):
    type: Literal["function"]
    function: FunctionDefinition


class NamedFunction(OpenAIModel):
    name: str


class NamedToolChoice(OpenAIModel):
    type: Literal["function"]
    function: NamedFunction


ToolChoice = Literal["none", "auto", "required"] | NamedToolChoice


class ChatCompletionRequest(SamplingFields):
    messages: Annotated[list[ChatMessage], Field(min_length=1)]
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = None
    logprobs: bool | None = None
    top_logprobs: Annotated[int, Field(ge=0, le=20)] | None = None
    response_format: ResponseFormat | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    # Accepted and validated as OpenAI does; they change nothing here (x-ignored-params).
    metadata: Metadata | None = None
    store: bool | None = None
    modalities: list[Literal["text", "audio"]] | None = None
    service_tier: Literal["auto", "default", "flex", "scale", "priority", "fast"] | None = None
    reasoning_effort: ReasoningEffort | None = None
    verbosity: Verbosity | None = None
    prompt_cache_retention: PromptCacheRetention | None = None

    @model_validator(mode="after")
    def _cross_field_rules(self) -> ChatCompletionRequest:
        if self.modalities and "audio" in self.modalities:
            raise ParamError("This model produces text only.", "modalities")
        if self.top_logprobs is not None and not self.logprobs:
            raise ParamError("'top_logprobs' requires 'logprobs' to be true.", "top_logprobs")
        if isinstance(self.tool_choice, NamedToolChoice):
            names = {t.function.name for t in self.tools or []}
            if self.tool_choice.function.name not in names:
                raise ParamError(
                    f"tool_choice names function '{self.tool_choice.function.name}' "
                    "which is not in 'tools'.",
                    "tool_choice",
                )
        elif self.tool_choice == "required" and not self.tools:
            raise ParamError(
                "tool_choice 'required' needs at least one tool in 'tools'.", "tool_choice"
            )
        return self

    @property
    def token_limit(self) -> int | None:
        """`max_completion_tokens` wins over the deprecated `max_tokens`."""
        return self.max_completion_tokens or self.max_tokens

    @property
    def token_limit_param(self) -> str:
        """The name of the field `token_limit` came from (for a 400's `param`)."""
        return "max_completion_tokens" if self.max_completion_tokens else "max_tokens"


class UpdateChatCompletionRequest(OpenAIModel):
    """`POST /v1/chat/completions/{id}`: the stored completion's new `metadata`."""

    metadata: Metadata | None
