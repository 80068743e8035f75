"""`POST /v1/responses` request model (the Responses API).

Input items: messages (with or without `"type": "message"`), `function_call`,
`function_call_output` and `item_reference`; content as a string or `input_text` /
`output_text` / `refusal` parts. Other item types (images, reasoning) are refused with a 400
that names the item; unknown fields are kept and reported as ignored.

Tools, as coding agents send them (Codex: docs/coding-agents.md): `function` tools reach
the model as they are; a `namespace` groups function tools, which reach the model flattened to
`<namespace>__<name>` (Codex's own flat spelling) and come back as a `function_call` item
carrying `namespace` and the member's own `name`, the only form Codex routes. Hosted tools
(`web_search`, `tool_search`, ...) and freeform `custom` tools are accepted and ignored: no
model here can run them or follow a Lark grammar. A tool type the spec does not name is a 400.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any, Literal, get_args

from pydantic import Discriminator, Field, Tag, model_validator

from .chat import ContentPart
from .common import (
    Metadata,
    OpenAIModel,
    ParamError,
    PromptCacheRetention,
    ReasoningEffort,
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
    # Set when the function belongs to a `namespace` tool; `name` is then the member's own.
    namespace: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    id: str | None = None
    status: str | None = None

    @property
    def flat_name(self) -> str:
        """The name the model knows this function by (see `flat_tool_name`)."""
        return self.name if self.namespace is None else flat_tool_name(self.namespace, self.name)


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


ToolName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-zA-Z0-9_-]+$")]
NAMESPACE_DELIMITER = "__"


def flat_tool_name(namespace: str, name: str) -> str:
    """`crm` + `lookup` → `crm__lookup`: Codex's flat spelling of a namespaced tool (stray
    underscores at the join are dropped, as Codex does), so names the model saw in Codex's
    own fallback and here agree."""
    return f"{namespace.rstrip('_')}{NAMESPACE_DELIMITER}{name.lstrip('_')}"


class FunctionTool(OpenAIModel):
    type: Literal["function"]
    name: ToolName
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class CustomTool(OpenAIModel):
    """A freeform tool (Codex's `apply_patch`): plain-text input, optionally bound by a Lark
    or regex grammar. Accepted and ignored."""

    type: Literal["custom"]
    name: ToolName
    description: str | None = None
    format: dict[str, Any] | None = None


# The spec's other tool types: run by OpenAI's platform (or, for `tool_search` with
# `execution: client`, a protocol of deferred tools), so none reaches a model here.
HostedToolType = Literal[
    "file_search",
    "computer",
    "computer_use_preview",
    "web_search",
    "web_search_2025_08_26",
    "web_search_preview",
    "web_search_preview_2025_03_11",
    "mcp",
    "code_interpreter",
    "programmatic_tool_calling",
    "image_generation",
    "local_shell",
    "shell",
    "tool_search",
    "apply_patch",
]


HOSTED_TOOL_TYPES = frozenset(get_args(HostedToolType))


def _tag_by_type(prefix: str, known: frozenset[str]) -> Any:
    """A union's discriminator that tags a member `<prefix>-<type>`. The hyphen keeps the tag
    out of the 400's `param` (`tools[0].name`, not `tools[0].function.name`), as for the
    union tags pydantic writes itself."""

    def tag(value: Any) -> str | None:
        kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
        if isinstance(kind, str) and kind in known:
            return f"{prefix}-{'hosted' if kind in HOSTED_TOOL_TYPES else kind}"
        return None

    return tag


NamespaceMember = Annotated[
    Annotated[FunctionTool, Tag("member-function")] | Annotated[CustomTool, Tag("member-custom")],
    Discriminator(
        _tag_by_type("member", frozenset({"function", "custom"})),
        custom_error_type="invalid_tool_type",
        custom_error_message="a namespace holds only 'function' and 'custom' tools",
    ),
]


class NamespaceTool(OpenAIModel):
    """Function (and custom) tools grouped under one name (Codex's `multi_agent_v1`)."""

    type: Literal["namespace"]
    name: ToolName
    description: str | None = None
    tools: Annotated[list[NamespaceMember], Field(min_length=1)]


class HostedTool(OpenAIModel):
    type: HostedToolType


ToolParam = Annotated[
    Annotated[FunctionTool, Tag("tool-function")]
    | Annotated[NamespaceTool, Tag("tool-namespace")]
    | Annotated[CustomTool, Tag("tool-custom")]
    | Annotated[HostedTool, Tag("tool-hosted")],
    Discriminator(
        _tag_by_type("tool", frozenset({"function", "namespace", "custom"}) | HOSTED_TOOL_TYPES),
        custom_error_type="invalid_tool_type",
        custom_error_message=(
            "'type' must be a tool type of the Responses API: 'function', 'namespace', "
            "'custom' or a hosted tool such as 'web_search' (accepted and ignored)"
        ),
    ),
]


@dataclass(slots=True)
class ToolPlan:
    """What the model sees of a request's `tools`, and what it does not.

    `functions`: the function tools the model is offered, namespace members flattened;
    `namespaced`: flat name → (namespace, member name), to split a call the model makes back
    into the item Codex routes; `ignored`: `tools.<type>` per tool nothing here runs, in the
    order given, each once (the `x-ignored-params` names)."""

    functions: list[FunctionTool] = field(default_factory=list)
    namespaced: dict[str, tuple[str, str]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)


def plan_tools(tools: list[FunctionTool | NamespaceTool | CustomTool | HostedTool]) -> ToolPlan:
    """Flatten namespaces and set aside the tools no model here can call. Two tools the model
    would know by one name, or a flat name over 64 characters, are a 400 naming the tool."""
    plan = ToolPlan()
    seen: set[str] = set()

    def ignore(kind: str) -> None:
        name = f"tools.{kind}"
        if name not in plan.ignored:
            plan.ignored.append(name)

    def offer(tool: FunctionTool, param: str) -> None:
        if tool.name in seen:
            raise ParamError(f"Two tools are both named '{tool.name}'.", param)
        seen.add(tool.name)
        plan.functions.append(tool)

    for index, tool in enumerate(tools):
        if isinstance(tool, FunctionTool):
            offer(tool, f"tools[{index}].name")
        elif isinstance(tool, NamespaceTool):
            for position, member in enumerate(tool.tools):
                param = f"tools[{index}].tools[{position}].name"
                if isinstance(member, CustomTool):
                    ignore("custom")
                    continue
                flat = flat_tool_name(tool.name, member.name)
                if len(flat) > 64:
                    raise ParamError(
                        f"The namespaced tool '{flat}' has a name longer than 64 characters "
                        "once flattened for the model.",
                        param,
                    )
                offer(member.model_copy(update={"name": flat}), param)
                plan.namespaced[flat] = (tool.name, member.name)
        else:
            ignore(tool.type)
    return plan


class Reasoning(OpenAIModel):
    """Reasoning options: accepted and ignored (no model here reasons apart from its answer)."""

    effort: ReasoningEffort | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None
    generate_summary: Literal["auto", "concise", "detailed"] | None = None


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


def typed_message_items(data: Any, field: str) -> Any:
    """The body with each `{"role": …, "content": …}` in its list `field` typed as a message
    item: a message may omit `"type": "message"` (the SDKs send such)."""
    if isinstance(data, dict) and isinstance(data.get(field), list):
        items = [
            {**item, "type": "message"}
            if isinstance(item, dict) and "type" not in item and "role" in item
            else item
            for item in data[field]
        ]
        data = {**data, field: items}
    return data


class ConversationRef(OpenAIModel):
    """`conversation: {"id": …}`."""

    id: Annotated[str, Field(min_length=1, max_length=256)]


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
    # The tools as declared; `tools` is what the model sees of them (`tool_plan`).
    declared_tools: Annotated[list[ToolParam] | None, Field(validation_alias="tools")] = None
    tool_choice: Literal["none", "auto", "required"] | FunctionToolChoice | None = None
    parallel_tool_calls: bool | None = None
    text: TextOptions | None = None
    metadata: Metadata | None = None
    safety_identifier: SafetyIdentifier | None = None
    service_tier: (
        Literal["auto", "default", "flex", "scale", "priority", "fast", "ultrafast"] | None
    ) = None
    prompt_cache_retention: PromptCacheRetention | None = None
    prompt_cache_key: str | None = None
    reasoning: Reasoning | None = None
    # Server-side prompt templates are an OpenAI platform feature.
    prompt: Any = None
    conversation: Annotated[str, Field(min_length=1, max_length=256)] | ConversationRef | None = (
        None
    )
    user: Annotated[str, Field(max_length=512)] | None = None
    background: bool | None = None
    truncation: Literal["auto", "disabled"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _message_items_may_omit_their_type(cls, data: Any) -> Any:
        return typed_message_items(data, "input")

    @model_validator(mode="after")
    def _cross_field_rules(self) -> CreateResponseRequest:
        self.tool_plan  # noqa: B018 - flattening refuses clashing names now, as a 400
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
        if self.prompt is not None:
            raise ParamError("'prompt' is not supported by this server; use 'input'.", "prompt")
        if self.conversation is not None and self.previous_response_id is not None:
            raise ParamError(
                "'previous_response_id' cannot be used together with 'conversation'.",
                "conversation",
            )
        return self

    @property
    def conversation_id(self) -> str | None:
        """The conversation this response reads and appends to (an id, or `{"id": …}`)."""
        if isinstance(self.conversation, ConversationRef):
            return self.conversation.id
        return self.conversation

    @property
    def items(self) -> list[AnyItem]:
        if isinstance(self.input, str):
            return [MessageItem(role="user", content=self.input)]
        return list(self.input)

    @cached_property
    def tool_plan(self) -> ToolPlan:
        return plan_tools(list(self.declared_tools or ()))

    @property
    def tools(self) -> list[FunctionTool] | None:
        """The function tools the model is offered (namespace members flattened); None when
        the request declared no tools."""
        return None if self.declared_tools is None else self.tool_plan.functions

    def given_fields(self) -> set[str]:
        """Fields the client actually sent (explicit nulls don't count as asking), by the
        client's names."""
        sent = {name for name in self.model_fields_set if getattr(self, name) is not None}
        if "declared_tools" in sent:
            sent = (sent - {"declared_tools"}) | {"tools"}
        sent |= set(self.model_extra or {})
        return sent

    def ignored_parts(self) -> list[str]:
        """What of the fields this server honours no model sees, for `x-ignored-params`:
        `tools.<type>` per tool type set aside, `include.<value>` per value other than
        output logprobs (e.g. `include.reasoning.encrypted_content`: there is no reasoning
        to encrypt). Fields accepted only for compatibility (`reasoning`,
        `prompt_cache_key`, `client_metadata`, ...) are named by `given_fields` instead."""
        parts = list(self.tool_plan.ignored)
        parts += [
            f"include.{value}"
            for value in self.include or ()
            if value != "message.output_text.logprobs"
        ]
        return parts

    @property
    def wants_logprobs(self) -> bool:
        return "message.output_text.logprobs" in (self.include or [])
