"""The Responses API's requests: a conversation (stored history + this input) → a generation,
and the record that stores its result for `previous_response_id` and `item_reference`.

Items are kept in the shape `GET /v1/responses/{id}/input_items` returns them: each with an
id, content as typed parts, `status: completed`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..backends import GenerationRequest, Message, ToolSpec
from ..errors import InvalidRequest, NotFound
from ..protocol.responses import (
    AnyItem,
    CreateResponseRequest,
    FunctionCallItem,
    FunctionCallOutputItem,
    FunctionToolChoice,
    ItemReference,
    MessageItem,
    non_text_parts,
    parts_text,
)
from ..store import ResponseStore, StoredResponse
from .generation import Generation
from .requests import GenerationService

Item = dict[str, Any]

# Fields this module turns into the generation itself, for every backend.
HANDLED_FIELDS = frozenset(
    {
        "model",
        "input",
        "instructions",
        "previous_response_id",
        "store",
        "stream",
        "stream_options",
        "max_output_tokens",
        "metadata",
        "user",
        "truncation",
    }
)
# Responses fields → the chat field a backend declares in `supported_params`.
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


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


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
            calls.append(
                {
                    "id": item["call_id"],
                    "type": "function",
                    "function": {"name": item["name"], "arguments": item["arguments"]},
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


@dataclass(slots=True)
class ResponseRecord:
    """What will be stored once the response is complete (only when `store` is true)."""

    id: str
    owner: str
    store: ResponseStore
    keep: bool
    input_items: list[Item]
    history: list[Item]

    async def save(self, response: dict[str, Any]) -> None:
        if not self.keep:
            return
        conversation = [*self.history, *self.input_items, *response.get("output", [])]
        record = StoredResponse(self.id, response, self.input_items, conversation)
        await self.store.save(self.owner, record)


class ResponsesService:
    def __init__(self, generations: GenerationService, store: ResponseStore) -> None:
        self.generations = generations
        self.store = store

    async def create(
        self, req: CreateResponseRequest, owner: str
    ) -> tuple[Generation, ResponseRecord]:
        limits = self.generations.limits
        items = req.items
        limits.check_responses(req, items)
        served = self.generations.resolve(req.model)
        if "responses" not in served.endpoints:
            raise InvalidRequest(
                f"The model '{req.model}' does not support the Responses API.", param="model"
            )
        self.generations.check_window(served, req.max_output_tokens, "max_output_tokens")
        if req.store:
            await self.store.ping()  # fail before generating, not after
        history: list[Item] = []
        if req.previous_response_id is not None:
            previous = await self.store.get(owner, req.previous_response_id)
            if previous is None:
                raise NotFound(
                    f"Previous response with id '{req.previous_response_id}' not found.",
                    param="previous_response_id",
                    code="previous_response_not_found",
                )
            history = previous.conversation
        input_items = await self._resolve(items, owner)
        request = GenerationRequest(
            model=req.model,
            messages=to_messages([*history, *input_items], req.instructions),
            max_tokens=limits.completion_tokens(req.max_output_tokens, explicit=True),
            temperature=req.temperature,
            top_p=req.top_p,
            seed=_seed(req),
            logprobs=(req.top_logprobs or 0) if req.wants_logprobs else None,
            **_output_shape(req),
        )
        honoured = served.backend.supported_params
        ignored = {
            field
            for field in req.given_fields() - HANDLED_FIELDS
            if AS_CHAT_FIELD.get(field) not in honoured
        }
        if req.truncation == "auto":
            ignored.add("truncation")
        if req.text and req.text.verbosity is not None:
            ignored.add("text.verbosity")
        if set(req.include or ()) - {"message.output_text.logprobs"}:
            ignored.add("include")  # only the logprobs of output text can be included
        generation = self.generations.generation(served, [request], ignored)
        record = ResponseRecord(
            new_id("resp"), owner, self.store, bool(req.store), input_items, history
        )
        return generation, record

    async def _resolve(
        self,
        items: list[AnyItem],
        owner: str,
    ) -> list[Item]:
        """Input items as stored items; `item_reference`s replaced by what they refer to."""
        references = [i.id for i in items if isinstance(i, ItemReference)]
        found = await self.store.items(owner, references) if references else {}
        resolved: list[Item] = []
        for index, item in enumerate(items):
            if isinstance(item, ItemReference):
                if item.id not in found:
                    raise NotFound(
                        f"Item with id '{item.id}' not found.",
                        param=f"input[{index}].id",
                        code="item_not_found",
                    )
                resolved.append(found[item.id])
                continue
            if isinstance(item, MessageItem) and (kinds := non_text_parts(item.content)):
                raise InvalidRequest(
                    f"This model accepts only text content; got a '{kinds[0]}' part.",
                    param=f"input[{index}].content",
                )
            resolved.append(stored_item(item))
        return resolved


def _seed(req: CreateResponseRequest) -> int | None:
    """`seed` is not part of the Responses API; honoured as an extension when sent."""
    seed = (req.model_extra or {}).get("seed")
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


def _output_shape(req: CreateResponseRequest) -> dict[str, Any]:
    tool_choice = "none" if not req.tools else "auto"
    if isinstance(req.tool_choice, FunctionToolChoice):
        tool_choice = req.tool_choice.name
    elif req.tool_choice is not None:
        tool_choice = req.tool_choice
    fmt = req.text.format if req.text else None
    return {
        "response_format": fmt.type if fmt else "text",
        "json_schema": (fmt.schema_ or {}) if fmt and fmt.type == "json_schema" else None,
        "tools": tuple(ToolSpec(t.name, t.description, t.parameters) for t in req.tools or ()),
        "tool_choice": tool_choice,
    }
