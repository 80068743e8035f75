"""An Anthropic Messages request → one `GenerationRequest`, and the fields nothing honours.

The conversation becomes chat messages, the shape every backend already takes:
- `system` (a string or text blocks, joined by blank lines) → a leading system message;
  `system` turns inside `messages` stay where they are;
- text blocks are joined by blank lines (Claude Code sends a reminder and the prompt as two
  blocks; run together they would read as one sentence);
- an assistant's `tool_use` blocks → `tool_calls` in the chat shape, `input` as JSON text;
- each `tool_result` → a `tool` message (`is_error` → the text starts with "Error: "), in
  block order with the turn's text around it;
- earlier thinking blocks are dropped, as Anthropic drops them from the context;
- any other block (image, document, …) is a 400 naming it: the models here read text only.

`max_tokens` passes as sent; limits and clamping are the caller's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Set
from dataclasses import dataclass
from typing import Any, NoReturn

from ..backends import GenerationRequest, Message, PromptGroup, ToolSpec
from ..errors import InvalidRequest
from ..protocol.messages import (
    CountTokensRequest,
    MessageParam,
    MessagesRequest,
    OtherBlock,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolChoiceAny,
    ToolChoiceNone,
    ToolChoiceTool,
    ToolResultBlock,
    ToolUseBlock,
)
from ..service.call import Call
from ..service.limits import Limits
from ..service.registry import ModelRegistry, ServedModel
from . import rules

BLOCK_SEPARATOR = "\n\n"

# Request fields → the name a backend declares in `supported_params` when it honours them.
AS_GENERATION_PARAM = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "tools": "tools",
    "tool_choice": "tool_choice",
    "output_config": "response_format",
}


@dataclass(frozen=True, slots=True)
class Translation:
    request: GenerationRequest
    ignored: frozenset[str]
    """Dotted names of the fields the client sent that nothing will honour (the
    `x-ignored-params` header)."""


def generation_request(
    req: MessagesRequest, *, honoured: Set[str], max_tokens: int | None = None
) -> Translation:
    """`honoured`: the backend's `supported_params`, for the fields only some backends take.
    `max_tokens`: the cap the caller fitted to the model (the backend then fits it to the
    prompt too); without it, the request's own `max_tokens`, as sent."""
    output_format = req.output_config.format if req.output_config else None
    request = GenerationRequest(
        messages=messages(req),
        max_tokens=req.max_tokens if max_tokens is None else max_tokens,
        fit_max_tokens=max_tokens is not None,
        stop=tuple(req.stop_sequences or ()),
        temperature=req.temperature,
        top_p=req.top_p,
        top_k=req.top_k or None,
        tools=tools(req),
        tool_choice=tool_choice(req),
        response_format="json_schema" if output_format else "text",
        json_schema=output_format.schema_ if output_format else None,
        json_schema_name="output" if output_format else None,
        model=req.model,
    )
    return Translation(request, frozenset(ignored_fields(req, honoured)))


def ignored_fields(req: MessagesRequest, honoured: Set[str]) -> set[str]:
    sent = req.given_fields()
    names = req.ignored_fields(sent)
    if req.top_k == 0:
        sent.discard("top_k")  # no cut asked for: nothing to honour
    for field, param in AS_GENERATION_PARAM.items():
        if field in sent and param not in honoured:
            if field == "output_config":
                if req.output_config is not None and req.output_config.format is not None:
                    names.add("output_config.format")
            elif field != "tools" or req.client_tools():
                names.add(field)
    choice = req.tool_choice
    if (
        choice is not None
        and choice.disable_parallel_tool_use
        and "parallel_tool_calls" not in honoured
    ):
        names.add("tool_choice.disable_parallel_tool_use")
    return names


# --- the conversation -------------------------------------------------------------------


def messages(req: CountTokensRequest) -> tuple[Message, ...]:
    """The whole prompt as chat messages (also what `count_tokens` counts)."""
    out: list[Message] = []
    if req.system:
        system = req.system
        text = system if isinstance(system, str) else _join(b.text for b in system)
        out.append(Message(role="system", content=text))
    for index, message in enumerate(req.messages):
        out += _turn(message, f"messages[{index}]")
    return tuple(out)


def _join(texts: Any) -> str:
    return BLOCK_SEPARATOR.join(texts)


def _turn(message: MessageParam, where: str) -> list[Message]:
    if isinstance(message.content, str):
        return [Message(role=message.role, content=message.content)]
    if message.role == "assistant":
        return _assistant(message, where)
    out: list[Message] = []
    texts: list[str] = []
    for index, block in enumerate(message.content):
        param = f"{where}.content[{index}]"
        if isinstance(block, TextBlock):
            texts.append(block.text)
        elif isinstance(block, ToolResultBlock):
            if texts:
                out.append(Message(role=message.role, content=_join(texts)))
                texts = []
            out.append(_tool_result(block, param))
        elif isinstance(block, ThinkingBlock | RedactedThinkingBlock):
            continue
        else:
            _refuse(block, param)
    if texts or not out:
        out.append(Message(role=message.role, content=_join(texts)))
    return out


def _assistant(message: MessageParam, where: str) -> list[Message]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for index, block in enumerate(message.blocks()):
        if isinstance(block, TextBlock):
            texts.append(block.text)
        elif isinstance(block, ToolUseBlock):
            calls.append(
                {
                    "id": block.id,
                    "type": "function",
                    "function": {
                        "name": block.name,
                        "arguments": json.dumps(block.input, ensure_ascii=False),
                    },
                }
            )
        elif isinstance(block, ThinkingBlock | RedactedThinkingBlock):
            continue
        else:
            _refuse(block, f"{where}.content[{index}]")
    if not texts and not calls and message.blocks():
        return []  # only thinking: nothing the model is shown
    return [Message(role="assistant", content=_join(texts), tool_calls=tuple(calls))]


def _tool_result(block: ToolResultBlock, param: str) -> Message:
    content = block.content
    if content is None:
        text = ""
    elif isinstance(content, str):
        text = content
    else:
        parts: list[str] = []
        for index, part in enumerate(content):
            if not isinstance(part, TextBlock):
                _refuse(part, f"{param}.content[{index}]")
            parts.append(part.text)
        text = _join(parts)
    if block.is_error:
        text = f"Error: {text}"
    return Message(role="tool", content=text, tool_call_id=block.tool_use_id)


def _refuse(block: Any, param: str) -> NoReturn:
    kind = block.type if isinstance(block, OtherBlock | ToolUseBlock) else "unknown"
    if isinstance(block, ToolUseBlock):
        message = f"A 'tool_use' block belongs in an assistant turn; got one at {param}."
    else:
        article = "an" if kind[:1] in set("aeiou") else "a"
        message = f"This model accepts only text content; got {article} '{kind}' block."
    raise InvalidRequest(message, param=param)


# --- tools ------------------------------------------------------------------------------


def tools(req: CountTokensRequest) -> tuple[ToolSpec, ...]:
    """The client's own tools the model is shown: server tools are dropped (and reported as
    ignored); so are tools with `defer_loading: true`, which Anthropic loads only once a tool
    search finds them (Claude Code's are placeholders) — this server has no tool search."""
    return tuple(
        ToolSpec(t.name, t.description, t.input_schema, t.strict)
        for t in req.client_tools()
        if t.defer_loading is not True
    )


def tool_choice(req: CountTokensRequest) -> str:
    """'auto' | 'required' | 'none' | the one tool's name, as `GenerationRequest` takes it."""
    choice = req.tool_choice
    client_tools = req.client_tools()
    if isinstance(choice, ToolChoiceTool):
        if choice.name not in {t.name for t in client_tools}:
            raise InvalidRequest(
                f"tool_choice names '{choice.name}', a server tool this server does not run.",
                param="tool_choice.name",
            )
        return choice.name
    if not client_tools or isinstance(choice, ToolChoiceNone):
        return "none"
    return "required" if isinstance(choice, ToolChoiceAny) else "auto"


HANDLED = frozenset({"model", "messages", "system", "max_tokens", "stop_sequences", "stream"})
"""Messages fields this translator honours for every backend."""


def check_limits(req: CountTokensRequest, limits: Limits) -> None:
    limits.check_items(req.messages, "messages", "messages")
    limits.check_tools(req.client_tools())


def message_call(req: MessagesRequest, models: ModelRegistry, limits: Limits) -> Call:
    """`POST /v1/messages` → a `Call` of one choice. `max_tokens` is a cap (Claude Code asks
    for 32k-128k): fitted to the server's cap and the context, the backend generating what
    fits after the prompt (stop_reason `max_tokens`)."""
    check_limits(req, limits)
    served = models.resolve(req.model, "messages")
    max_tokens, fitted = rules.fitted_tokens(served, limits, req.max_tokens, "max_tokens")
    translation = generation_request(
        req, honoured=served.backend.supported_params, max_tokens=max_tokens
    )
    check_prompt_chars(translation.request.messages or (), limits)
    return Call(
        served,
        (PromptGroup(translation.request),),
        ignored=tuple(sorted(translation.ignored | set(fitted))),
    )


def count_request(
    req: CountTokensRequest, models: ModelRegistry, limits: Limits
) -> tuple[ServedModel, GenerationRequest]:
    """`POST /v1/messages/count_tokens` → the model and the prompt to count."""
    check_limits(req, limits)
    served = models.resolve(req.model, "messages")
    request = GenerationRequest(
        messages=messages(req), tools=tools(req), tool_choice=tool_choice(req), model=req.model
    )
    check_prompt_chars(request.messages or (), limits)
    return served, request


def check_prompt_chars(prompt: Iterable[Message], limits: Limits) -> None:
    limits.check_chars(sum(len(m.content) for m in prompt), "input", "messages")
