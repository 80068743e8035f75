"""`POST /v1/messages` and `POST /v1/messages/count_tokens` request models (Anthropic's
Messages API), after the official SDK's own params types (`anthropic.types.MessageCreateParams`).

Same conventions as the OpenAI models: strict JSON types, and unknown fields kept, never a 400.
What a local model cannot honour is accepted as well and named by `ignored_fields()` (the
`x-ignored-params` header): extended thinking, prompt caching (`cache_control`, at any depth),
Anthropic's server tools (`web_search_…`, `bash_…`, `text_editor_…`, …), context management,
containers, MCP servers, service tiers. Their shapes are deliberately not checked: Anthropic adds
variants often, and a field that changes nothing here must not become a 400 when it does.

Content blocks other than text, tool use/results and thinking (images, documents, search
results) are accepted here and refused by the translator, which names the block.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from .common import ParamError


class AnthropicModel(BaseModel):
    """Strict JSON types; unknown fields are kept (and reported as ignored), never a 400."""

    model_config = ConfigDict(strict=True, extra="allow", protected_namespaces=())

    def _cache_control(self) -> bool:
        return getattr(self, "cache_control", None) is not None


# --- content blocks ---------------------------------------------------------------------


class TextBlock(AnthropicModel):
    type: Literal["text"]
    text: str
    cache_control: Any = None
    citations: Any = None


class ToolUseBlock(AnthropicModel):
    type: Literal["tool_use"]
    id: Annotated[str, Field(min_length=1)]
    name: Annotated[str, Field(min_length=1)]
    input: dict[str, Any]
    cache_control: Any = None


class ThinkingBlock(AnthropicModel):
    """An earlier turn's thinking: accepted in history, not shown to the model (Anthropic
    drops earlier turns' thinking from the context too)."""

    type: Literal["thinking"]
    thinking: str
    signature: str | None = None


class RedactedThinkingBlock(AnthropicModel):
    type: Literal["redacted_thinking"]
    data: str


class OtherBlock(AnthropicModel):
    """`image`, `document`, `search_result`, server tool blocks…: kept so that the translator
    can refuse them by name (a text-only model), rather than a parser's union error."""

    type: Annotated[str, Field(min_length=1, max_length=64)]
    cache_control: Any = None


def _blocks(known: frozenset[str]) -> Discriminator:
    """Blocks by `type`; any type not in `known` is an `OtherBlock`."""

    def kind(value: Any) -> str | None:
        block_type = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
        if not isinstance(block_type, str):
            return None
        return block_type if block_type in known else "other"

    return Discriminator(
        kind,
        custom_error_type="invalid_block",
        custom_error_message="a content block must be an object with a string 'type'",
    )


ResultBlock = Annotated[
    Annotated[TextBlock, Tag("text")] | Annotated[OtherBlock, Tag("other")],
    _blocks(frozenset({"text"})),
]


class ToolResultBlock(AnthropicModel):
    type: Literal["tool_result"]
    tool_use_id: Annotated[str, Field(min_length=1)]
    content: str | list[ResultBlock] | None = None
    is_error: bool | None = None
    cache_control: Any = None


ContentBlock = Annotated[
    Annotated[TextBlock, Tag("text")]
    | Annotated[ToolUseBlock, Tag("tool_use")]
    | Annotated[ToolResultBlock, Tag("tool_result")]
    | Annotated[ThinkingBlock, Tag("thinking")]
    | Annotated[RedactedThinkingBlock, Tag("redacted_thinking")]
    | Annotated[OtherBlock, Tag("other")],
    _blocks(frozenset({"text", "tool_use", "tool_result", "thinking", "redacted_thinking"})),
]


class MessageParam(AnthropicModel):
    """One turn. `system` turns inside `messages` are what Claude Code sends mid-conversation
    (the SDK's `SystemMessageParam`): text only."""

    role: Literal["user", "assistant", "system"]
    content: str | list[ContentBlock]

    @model_validator(mode="after")
    def _system_is_text(self) -> MessageParam:
        if self.role == "system" and isinstance(self.content, list):
            for block in self.content:
                if not isinstance(block, TextBlock):
                    raise ValueError(
                        f"a 'system' message holds only text blocks, not '{block.type}'"
                    )
        return self

    def blocks(self) -> list[Any]:
        return [] if isinstance(self.content, str) else list(self.content)


# --- tools ------------------------------------------------------------------------------

ToolName = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[a-zA-Z0-9_-]+$")]

# Tool fields that shape how Anthropic's servers load or call a tool; none changes what a
# local model is shown, so each is reported (as `tools.NAME`) when sent. (`defer_loading`
# is honoured: such a tool is not shown, see translate/messages.py.)
_TOOL_FIELDS_IGNORED = (
    "input_examples",
    "allowed_callers",
    "eager_input_streaming",
)


class ToolDefinition(AnthropicModel):
    """A client tool (`type` absent or `custom`): the model may call it; the client runs it."""

    name: ToolName
    input_schema: dict[str, Any]
    description: str | None = None
    type: Literal["custom"] | None = None
    strict: bool | None = None
    cache_control: Any = None
    defer_loading: Any = None
    input_examples: Any = None
    allowed_callers: Any = None
    eager_input_streaming: Any = None

    def ignored_fields(self) -> set[str]:
        names = {f"tools.{f}" for f in _TOOL_FIELDS_IGNORED if getattr(self, f) is not None}
        names |= {f"tools.{f}" for f in self.model_extra or {}}
        return names


class ServerTool(AnthropicModel):
    """A tool Anthropic's servers run (`web_search_20250305`, `bash_20250124`,
    `text_editor_20250728`, `code_execution_…`, …): nothing here runs it, so it is dropped and
    named as ignored (`tools.TYPE`)."""

    type: Annotated[str, Field(min_length=1, max_length=64)]
    name: str | None = None
    cache_control: Any = None


# The tags of unions that are not inside another union hold a "-": a 400's `param` skips such
# location parts (`tools[0].name`, not `tools[0].custom.name`; see routes/parsing.py).


def _tool_kind(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    return "tool-custom" if value.get("type") in (None, "custom") else "tool-server"


Tool = Annotated[
    Annotated[ToolDefinition, Tag("tool-custom")] | Annotated[ServerTool, Tag("tool-server")],
    Discriminator(
        _tool_kind,
        custom_error_type="invalid_tool",
        custom_error_message="a tool must be an object",
    ),
]


class ToolChoiceAuto(AnthropicModel):
    type: Literal["auto"]
    disable_parallel_tool_use: bool | None = None


class ToolChoiceAny(AnthropicModel):
    type: Literal["any"]
    disable_parallel_tool_use: bool | None = None


class ToolChoiceTool(AnthropicModel):
    type: Literal["tool"]
    name: Annotated[str, Field(min_length=1)]
    disable_parallel_tool_use: bool | None = None


class ToolChoiceNone(AnthropicModel):
    type: Literal["none"]
    disable_parallel_tool_use: bool | None = None


_CHOICES = frozenset({"auto", "any", "tool", "none"})


def _choice_kind(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else None
    return f"choice-{kind}" if isinstance(kind, str) and kind in _CHOICES else None


ToolChoice = Annotated[
    Annotated[ToolChoiceAuto, Tag("choice-auto")]
    | Annotated[ToolChoiceAny, Tag("choice-any")]
    | Annotated[ToolChoiceTool, Tag("choice-tool")]
    | Annotated[ToolChoiceNone, Tag("choice-none")],
    Discriminator(
        _choice_kind,
        custom_error_type="invalid_tool_choice",
        custom_error_message="'type' must be one of 'auto', 'any', 'tool' or 'none'",
    ),
]


class OutputFormat(AnthropicModel):
    type: Literal["json_schema"]
    schema_: Annotated[dict[str, Any], Field(alias="schema")]


class OutputConfig(AnthropicModel):
    """`format` (structured output) is honoured by backends that take `response_format`;
    `effort` (how hard to think) is not."""

    format: OutputFormat | None = None
    effort: Any = None


class Metadata(AnthropicModel):
    user_id: Annotated[str, Field(max_length=512)] | None = None


# --- requests ---------------------------------------------------------------------------

# Accepted, never honoured: each is reported by name when sent (not null).
_IGNORED_TOP_LEVEL = (
    "cache_control",
    "context_management",
    "service_tier",
    "speed",
    "container",
    "inference_geo",
    "diagnostics",
    "mcp_servers",
)


class CountTokensRequest(AnthropicModel):
    """`POST /v1/messages/count_tokens`: the prompt half of a Messages request."""

    model: Annotated[str, Field(min_length=1, max_length=256)]
    messages: Annotated[list[MessageParam], Field(min_length=1)]
    system: str | list[TextBlock] | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    thinking: Any = None
    output_config: OutputConfig | None = None
    cache_control: Any = None
    context_management: Any = None
    speed: Any = None
    mcp_servers: Any = None

    @model_validator(mode="after")
    def _tool_choice_names_a_tool(self) -> CountTokensRequest:
        choice = self.tool_choice
        if isinstance(choice, ToolChoiceTool):
            names = {t.name for t in self.tools or ()}
            if choice.name not in names:
                raise ParamError(
                    f"tool_choice names tool '{choice.name}' which is not in 'tools'.",
                    "tool_choice.name",
                )
        elif isinstance(choice, ToolChoiceAny) and not self.tools:
            raise ParamError("tool_choice 'any' needs at least one tool in 'tools'.", "tool_choice")
        return self

    def given_fields(self) -> set[str]:
        """Fields the client actually sent (explicit nulls don't count as asking)."""
        sent = {name for name in self.model_fields_set if getattr(self, name) is not None}
        sent |= set(self.model_extra or {})
        return sent

    def client_tools(self) -> list[ToolDefinition]:
        return [t for t in self.tools or () if isinstance(t, ToolDefinition)]

    def ignored_fields(self, sent: set[str] | None = None) -> set[str]:
        """What nothing on this server honours, whatever the backend, as dotted names:
        unknown top-level fields, `thinking` (unless disabled), `cache_control` once for any
        depth, `output_config.effort`, each server tool as `tools.TYPE`, and the tool fields
        only Anthropic's servers act on. Fields a backend may or may not honour (temperature,
        top_k, tools…) are the translator's to add. `sent`: `given_fields()`, when the caller
        has it already."""
        if sent is None:
            sent = self.given_fields()
        names = set(self.model_extra or {})
        names |= {f for f in _IGNORED_TOP_LEVEL if f in sent}
        if self.thinking is not None and not _thinking_disabled(self.thinking):
            names.add("thinking")
        if self.output_config is not None:
            config = self.output_config
            if config.effort is not None:
                names.add("output_config.effort")
            names |= {f"output_config.{f}" for f in config.model_extra or {}}
        for tool in self.tools or ():
            if isinstance(tool, ServerTool):
                names.add(f"tools.{tool.type}")
            else:
                names |= tool.ignored_fields()
        if self._nested_cache_control():
            names.add("cache_control")
        return names

    def _nested_cache_control(self) -> bool:
        holders: list[AnthropicModel] = list(self.tools or ())
        if isinstance(self.system, list):
            holders += self.system
        for message in self.messages:
            for block in message.blocks():
                holders.append(block)
                if isinstance(block, ToolResultBlock) and isinstance(block.content, list):
                    holders += block.content
        return any(h._cache_control() for h in holders)


def _thinking_disabled(thinking: Any) -> bool:
    return isinstance(thinking, dict) and thinking.get("type") == "disabled"


Temperature = Annotated[float, Field(ge=0.0, le=1.0)]
TopP = Annotated[float, Field(ge=0.0, le=1.0)]


class MessagesRequest(CountTokensRequest):
    """`POST /v1/messages`."""

    max_tokens: Annotated[int, Field(ge=1)]
    stop_sequences: list[str] | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    top_k: Annotated[int, Field(ge=0)] | None = None
    """0: no top-k cut (as if not sent)."""
    metadata: Metadata | None = None
    stream: bool | None = False
    service_tier: Any = None
    container: Any = None
    inference_geo: Any = None
    diagnostics: Any = None

    @field_validator("stop_sequences")
    @classmethod
    def _stop_sequences(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(not s for s in value):
            raise ValueError("stop sequences must be non-empty strings")
        return value

    def ignored_fields(self, sent: set[str] | None = None) -> set[str]:
        names = super().ignored_fields(sent)
        if self.metadata is not None:
            # `user_id` is accepted like chat's `user`: it changes no answer, nothing to say.
            names |= {f"metadata.{f}" for f in self.metadata.model_extra or {}}
        return names
