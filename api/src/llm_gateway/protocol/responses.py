"""`POST /v1/responses` request model (the Responses API).

Input items: messages (with or without `"type": "message"`), `function_call`,
`function_call_output` and `item_reference`; content as a string or `input_text` /
`output_text` / `refusal` parts. Other item and tool types (built-in tools, images, reasoning)
are refused with a 400 that names the item; unknown fields are kept and reported as ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from .chat import ContentPart
from .common import (
    Metadata,
    OpenAIModel,
    ParamError,
    PromptCacheRetention,
    SafetyIdentifier,
    Temperature,
    TopP,
)

MessageRole = Literal["user", "assistant", "system", "developer"]
TEXT_PARTS = frozenset({"input_text", "output_text", "text"})


def parts_text(content: str | list[ContentPart]) -> str:
    if isinstance(content, str):
        return content
    return "".join(p.text or "" for p in content if p.type in TEXT_PARTS)


def non_text_parts(content: str | list[ContentPart]) -> list[str]:
    if isinstance(content, str):
        return []
    return [p.type for p in content if p.type not in TEXT_PARTS and p.type != "refusal"]


class MessageItem(OpenAIModel):
    type: Literal["message"] = "message"
    role: MessageRole
    content: str | list[ContentPart]
    id: str | None = None
    status: str | None = None


class FunctionCallItem(OpenAIModel):
    type: Literal["function_call"]
    call_id: Annotated[str, Field(min_length=1, max_length=256)]
    name: Annotated[str, Field(min_length=1, max_length=64)]
    arguments: str
    id: str | None = None
    status: str | None = None


class FunctionCallOutputItem(OpenAIModel):
    type: Literal["function_call_output"]
    call_id: Annotated[str, Field(min_length=1, max_length=256)]
    output: str | list[ContentPart]
    id: str | None = None
    status: str | None = None


class ItemReference(OpenAIModel):
    type: Literal["item_reference"]
    id: Annotated[str, Field(min_length=1, max_length=256)]


AnyItem = MessageItem | FunctionCallItem | FunctionCallOutputItem | ItemReference
InputItem = Annotated[AnyItem, Field(discriminator="type")]


class FunctionTool(OpenAIModel):
    type: Literal["function"]
    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-zA-Z0-9_-]+$")]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class FunctionToolChoice(OpenAIModel):
    type: Literal["function"]
    name: str


class TextFormat(OpenAIModel):
    type: Literal["text", "json_object", "json_schema"]
    name: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    description: str | None = None
    schema_: Annotated[dict[str, Any] | None, Field(alias="schema")] = None
    strict: bool | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> TextFormat:
        if self.type == "json_schema" and (self.schema_ is None or self.name is None):
            raise ValueError("type 'json_schema' needs 'name' and 'schema'")
        return self


class TextOptions(OpenAIModel):
    format: TextFormat | None = None
    verbosity: Literal["low", "medium", "high"] | None = None


class ResponsesStreamOptions(OpenAIModel):
    include_obfuscation: bool | None = None


Includable = Literal[
    "file_search_call.results",
    "web_search_call.results",
    "web_search_call.action.sources",
    "message.input_image.image_url",
    "computer_call_output.output.image_url",
    "code_interpreter_call.outputs",
    "reasoning.encrypted_content",
    "message.output_text.logprobs",
]


class CreateResponseRequest(OpenAIModel):
    model: Annotated[str, Field(min_length=1, max_length=256)]
    input: str | Annotated[list[InputItem], Field(min_length=1)]
    instructions: str | None = None
    previous_response_id: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    store: bool | None = True
    stream: bool | None = False
    stream_options: ResponsesStreamOptions | None = None
    max_output_tokens: Annotated[int, Field(ge=16)] | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    top_logprobs: Annotated[int, Field(ge=0, le=20)] | None = None
    include: list[Includable] | None = None
    tools: list[FunctionTool] | None = None
    tool_choice: Literal["none", "auto", "required"] | FunctionToolChoice | None = None
    parallel_tool_calls: bool | None = None
    text: TextOptions | None = None
    metadata: Metadata | None = None
    safety_identifier: SafetyIdentifier | None = None
    service_tier: (
        Literal["auto", "default", "flex", "scale", "priority", "fast", "ultrafast"] | None
    ) = None
    prompt_cache_retention: PromptCacheRetention | None = None
    # Server-side prompt templates and conversation objects are OpenAI platform features.
    prompt: Any = None
    conversation: Any = None
    user: Annotated[str, Field(max_length=512)] | None = None
    background: bool | None = None
    truncation: Literal["auto", "disabled"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _message_items_may_omit_their_type(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("input"), list):
            items = [
                {**item, "type": "message"}
                if isinstance(item, dict) and "type" not in item and "role" in item
                else item
                for item in data["input"]
            ]
            data = {**data, "input": items}
        return data

    @model_validator(mode="after")
    def _cross_field_rules(self) -> CreateResponseRequest:
        if self.stream_options is not None and not self.stream:
            raise ParamError(
                "'stream_options' is only allowed when 'stream' is true.", "stream_options"
            )
        if self.background:
            raise ParamError("Background mode is not supported by this server.", "background")
        if isinstance(self.tool_choice, FunctionToolChoice):
            names = {t.name for t in self.tools or []}
            if self.tool_choice.name not in names:
                raise ParamError(
                    f"tool_choice names function '{self.tool_choice.name}' which is not in "
                    "'tools'.",
                    "tool_choice",
                )
        elif self.tool_choice == "required" and not self.tools:
            raise ParamError(
                "tool_choice 'required' needs at least one tool in 'tools'.", "tool_choice"
            )
        for name, instead in (("conversation", "previous_response_id"), ("prompt", "input")):
            if getattr(self, name) is not None:
                raise ParamError(
                    f"'{name}' is not supported by this server; use '{instead}'.", name
                )
        return self

    @property
    def items(self) -> list[AnyItem]:
        if isinstance(self.input, str):
            return [MessageItem(role="user", content=self.input)]
        return list(self.input)

    def given_fields(self) -> set[str]:
        """Fields the client actually sent (explicit nulls don't count as asking)."""
        sent = {name for name in self.model_fields_set if getattr(self, name) is not None}
        sent |= set(self.model_extra or {})
        return sent

    @property
    def wants_logprobs(self) -> bool:
        return "message.output_text.logprobs" in (self.include or [])
