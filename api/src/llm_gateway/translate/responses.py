"""`POST /v1/responses` → a `Call`: the stored history (`previous_response_id`, or the items
of a `conversation`) and this input as one chat prompt, and a completion hook that stores the
finished response (when `store` is true) for the next turn, `item_reference`s and
`GET /v1/responses/{id}`, and appends this input and the output to the conversation (in one
atomic step of the store, so concurrent responses on one conversation lose nothing).

Items are kept in the shape `GET /v1/responses/{id}/input_items` returns them: each with an
id, content as typed parts, `status: completed`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..backends import GenerationRequest, Message, PromptGroup, ToolSpec
from ..errors import NotFound
from ..protocol.ids import new_id
from ..protocol.responses import (
    AnyItem,
    CreateResponseRequest,
    FunctionCallItem,
    FunctionCallOutputItem,
    FunctionToolChoice,
    ItemReference,
    MessageItem,
    flat_tool_name,
    non_text_parts,
    parts_text,
)
from ..service.call import Call, CompletionHook
from ..service.limits import Limits
from ..service.registry import ModelRegistry, ServedModel
from ..store import ResponseStore, StoredResponse
from . import rules

Item = dict[str, Any]

HANDLED = frozenset(
    {
        "model",
        "input",
        "instructions",
        "previous_response_id",
        "conversation",
        "store",
        "stream",
        "stream_options",
        "max_output_tokens",
        "metadata",
        "user",
        "truncation",
    }
)
"""Responses fields this translator honours for every backend."""
AS_CHAT_FIELD = {
    "text": "response_format",
    "tools": "tools",
    "tool_choice": "tool_choice",
    "parallel_tool_calls": "parallel_tool_calls",
    "temperature": "temperature",
    "top_p": "top_p",
    "seed": "seed",
    "top_logprobs": "top_logprobs",
    "include": "logprobs",
}
"""Responses fields → the chat field a backend declares in `supported_params`."""


def _parts(role: str, content: Any) -> list[Item]:
    """Message content as the typed parts OpenAI stores (output_text for the assistant)."""
    if isinstance(content, str):
        content = [{"type": "input_text", "text": content}]
    kind = "output_text" if role == "assistant" else "input_text"
    parts: list[Item] = []
    for part in content:
        if part.get("type") == "refusal":
            parts.append({"type": "refusal", "refusal": part.get("refusal") or ""})
        elif kind == "output_text":
            parts.append({"type": "output_text", "text": part.get("text") or "", "annotations": []})
        else:
            parts.append({"type": "input_text", "text": part.get("text") or ""})
    return parts


def stored_item(item: MessageItem | FunctionCallItem | FunctionCallOutputItem) -> Item:
    """An input item as it is stored and listed, with an id."""
    if isinstance(item, MessageItem):
        content = (
            item.content
            if isinstance(item.content, str)
            else [p.model_dump(exclude_none=True) for p in item.content]
        )
        return {
            "type": "message",
            "id": item.id or new_id("msg"),
            "role": item.role,
            "content": _parts(item.role, content),
            "status": "completed",
        }
    if isinstance(item, FunctionCallItem):
        return {
            "type": "function_call",
            "id": item.id or new_id("fc"),
            "call_id": item.call_id,
            **({"namespace": item.namespace} if item.namespace is not None else {}),
            "name": item.name,
            "arguments": item.arguments,
            "status": "completed",
        }
    output = item.output if isinstance(item.output, str) else parts_text(item.output)
    return {
        "type": "function_call_output",
        "id": item.id or new_id("fco"),
        "call_id": item.call_id,
        "output": output,
        "status": "completed",
    }


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(p.get("text") or p.get("refusal") or "" for p in content)


def to_messages(items: Sequence[Item], instructions: str | None) -> tuple[Message, ...]:
    """Stored items → chat messages for a backend. Consecutive function calls become one
    assistant turn with several tool calls; outputs become tool messages."""
    messages: list[Message] = []
    if instructions:
        messages.append(Message(role="system", content=instructions))
    calls: list[dict[str, Any]] = []

    def flush_calls() -> None:
        if calls:
            messages.append(Message(role="assistant", content="", tool_calls=tuple(calls)))
            calls.clear()

    for item in items:
        kind = item.get("type")
        if kind == "function_call":
            # The model knows a namespace member by its flat name (as it was offered).
            name = item["name"]
            if item.get("namespace"):
                name = flat_tool_name(item["namespace"], name)
            calls.append(
                {
                    "id": item["call_id"],
                    "type": "function",
                    "function": {"name": name, "arguments": item["arguments"]},
                }
            )
            continue
        flush_calls()
        if kind == "function_call_output":
            output = item["output"]
            text = output if isinstance(output, str) else json.dumps(output)
            messages.append(Message(role="tool", content=text, tool_call_id=item["call_id"]))
        elif kind == "message":
            messages.append(Message(role=item["role"], content=_text(item["content"])))
    flush_calls()
    return tuple(messages)


def check_limits(req: CreateResponseRequest, items: list[AnyItem], limits: Limits) -> None:
    limits.check_items(items, "input items", "input")
    texts = [i.content for i in items if isinstance(i, MessageItem)]
    texts += [i.output for i in items if isinstance(i, FunctionCallOutputItem)]
    chars = len(req.instructions or "") + sum(len(parts_text(t)) for t in texts)
    limits.check_chars(chars, "input", "input")
    limits.check_tools(req.tools)


def storing(
    store: ResponseStore,
    owner: str,
    input_items: list[Item],
    history: list[Item],
    *,
    keep: bool = True,
    conversation_id: str | None = None,
) -> CompletionHook:
    """The completion hook of a stored response: the finished response (the renderer's body,
    with its id), the input items it was given, and the conversation a next turn continues
    (when `keep`); with `conversation_id`, the input and output items appended to it."""

    async def save(response: dict[str, Any]) -> None:
        output = response.get("output", [])
        appended = [*input_items, *output]
        if conversation_id is not None and not await store.append_items(
            owner, conversation_id, appended
        ):
            raise _no_conversation(conversation_id)  # deleted while this response ran
        if keep:
            conversation = [*history, *input_items, *output]
            record = StoredResponse(response["id"], response, input_items, conversation)
            await store.save(owner, record)

    return save


def _no_conversation(conversation_id: str) -> NotFound:
    return NotFound(
        f"Conversation with id '{conversation_id}' not found.",
        param="conversation",
        code="conversation_not_found",
    )


async def response_call(
    req: CreateResponseRequest,
    models: ModelRegistry,
    limits: Limits,
    store: ResponseStore,
    owner: str,
) -> Call:
    items = req.items
    check_limits(req, items, limits)
    served = models.resolve(req.model, "responses")
    # A cap, as in the Messages API: coding agents ask for more than a small model holds.
    fitted: tuple[str, ...] = ()
    max_tokens = req.max_output_tokens
    if max_tokens is not None:
        max_tokens, fitted = rules.fitted_tokens(served, limits, max_tokens, "max_output_tokens")
    else:
        max_tokens = limits.completion_tokens(None, explicit=False)
    conversation_id = req.conversation_id
    if req.store or conversation_id is not None:
        await store.ping()  # fail before generating, not after
    history: list[Item] = []
    if conversation_id is not None:
        items_so_far = await store.conversation_items(owner, conversation_id)
        if items_so_far is None:
            raise _no_conversation(conversation_id)
        history = items_so_far
    if req.previous_response_id is not None:
        previous = await store.get(owner, req.previous_response_id)
        if previous is None:
            raise NotFound(
                f"Previous response with id '{req.previous_response_id}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        history = previous.conversation
    input_items = await resolve_items(items, owner, store)
    request = GenerationRequest(
        model=req.model,
        messages=to_messages([*history, *input_items], req.instructions),
        max_tokens=max_tokens,
        fit_max_tokens=True,
        temperature=req.temperature,
        top_p=req.top_p,
        seed=_seed(req),
        logprobs=(req.top_logprobs or 0) if req.wants_logprobs else None,
        **_output_shape(req),
    )
    return Call(
        served,
        (PromptGroup(request),),
        ignored=(*_ignored(req, served), *fitted),
        on_complete=storing(
            store,
            owner,
            input_items,
            history,
            keep=bool(req.store),
            conversation_id=conversation_id,
        )
        if req.store or conversation_id is not None
        else None,
    )


def _ignored(req: CreateResponseRequest, served: ServedModel) -> tuple[str, ...]:
    honoured = served.backend.supported_params
    given = {f for f in req.given_fields() if AS_CHAT_FIELD.get(f, f) not in honoured}
    if not req.wants_logprobs:
        given.discard("include")  # its values are named one by one (`include.<value>`)
    extra = []
    if req.truncation == "auto":
        extra.append("truncation")
    if req.text and req.text.verbosity is not None:
        extra.append("text.verbosity")
    # Tools nothing here runs (`tools.<type>`), `include.<value>` but output logprobs.
    extra += req.ignored_parts()
    return rules.ignored(given, HANDLED, served, *extra)


async def resolve_items(
    items: list[AnyItem], owner: str, store: ResponseStore, field: str = "input"
) -> list[Item]:
    """Input items as stored items; `item_reference`s replaced by what they refer to."""
    references = [i.id for i in items if isinstance(i, ItemReference)]
    found = await store.items(owner, references) if references else {}
    resolved: list[Item] = []
    for index, item in enumerate(items):
        if isinstance(item, ItemReference):
            if item.id not in found:
                raise NotFound(
                    f"Item with id '{item.id}' not found.",
                    param=f"{field}[{index}].id",
                    code="item_not_found",
                )
            resolved.append(found[item.id])
            continue
        if isinstance(item, MessageItem):
            rules.text_only(non_text_parts(item.content), f"{field}[{index}].content")
        resolved.append(stored_item(item))
    return resolved


def _seed(req: CreateResponseRequest) -> int | None:
    """`seed` is not part of the Responses API; honoured as an extension when sent."""
    seed = (req.model_extra or {}).get("seed")
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


def _output_shape(req: CreateResponseRequest) -> dict[str, Any]:
    named = req.tool_choice.name if isinstance(req.tool_choice, FunctionToolChoice) else None
    choice = req.tool_choice if isinstance(req.tool_choice, str) else None
    fmt = req.text.format if req.text else None
    return {
        "response_format": fmt.type if fmt else "text",
        "json_schema": (fmt.schema_ or {}) if fmt and fmt.type == "json_schema" else None,
        "tools": tuple(ToolSpec(t.name, t.description, t.parameters) for t in req.tools or ()),
        "tool_choice": rules.tool_choice(bool(req.tools), choice, named),
    }
