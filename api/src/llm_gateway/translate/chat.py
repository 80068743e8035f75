"""`POST /v1/chat/completions` → a `Call`: one prompt group of `n` choices; with `store: true`
a completion hook that keeps the request's messages, the finished completion (the renderer's
folded body, streamed or not) and `metadata` for `GET /v1/chat/completions`."""

from __future__ import annotations

from typing import Any

from ..backends import GenerationRequest, Message, PromptGroup, ToolSpec
from ..protocol.chat import ChatCompletionRequest, ChatMessage, NamedToolChoice
from ..protocol.common import SamplingFields
from ..service.call import Call, CompletionHook
from ..service.limits import Limits
from ..service.registry import ModelRegistry
from ..store import Kind, ResponseStore
from . import rules

HANDLED = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",
        "n",
        "stop",
        "max_tokens",
        "max_completion_tokens",
        "user",
        "store",
        "metadata",
    }
)
"""Chat fields this translator honours for every backend (the rest: the backend's
`supported_params`, or ignored)."""


def message(message: ChatMessage) -> Message:
    role = "tool" if message.role == "function" else message.role
    return Message(
        role=role,
        content=message.text(),
        name=message.name,
        tool_calls=tuple(call.model_dump() for call in message.tool_calls or ()),
        tool_call_id=message.tool_call_id,
    )


def sampling(req: SamplingFields) -> dict[str, Any]:
    """The sampling fields chat and text completions share."""
    return {
        "stop": tuple(req.stop_list),
        "temperature": req.temperature,
        "top_p": req.top_p,
        "seed": req.seed,
        "presence_penalty": req.presence_penalty,
        "frequency_penalty": req.frequency_penalty,
        "logit_bias": {int(k): v for k, v in (req.logit_bias or {}).items()},
    }


def check_limits(req: ChatCompletionRequest, limits: Limits) -> None:
    limits.check_n(req.n)
    limits.check_items(req.messages, "messages", "messages")
    limits.check_chars(sum(len(m.text()) for m in req.messages), "input", "messages")
    limits.check_tools(req.tools)


def stored_message(completion_id: str, index: int, message: ChatMessage) -> dict[str, Any]:
    """A request message as `GET /v1/chat/completions/{id}/messages` lists it."""
    parts = message.content if isinstance(message.content, list) else None
    out: dict[str, Any] = {
        "id": f"{completion_id}-{index}",
        "role": message.role,
        "content": message.text() if message.content is not None else None,
        "refusal": None,
        "content_parts": [p.model_dump(exclude_none=True) for p in parts] if parts else None,
    }
    if message.name is not None:
        out["name"] = message.name
    if message.tool_calls:
        out["tool_calls"] = [call.model_dump() for call in message.tool_calls]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    return out


def storing(store: ResponseStore, owner: str, req: ChatCompletionRequest) -> CompletionHook:
    """Keep the finished completion (with the request's `metadata`) and its messages."""

    async def save(body: dict[str, Any]) -> None:
        completion_id = body["id"]
        record = {
            "completion": {**body, "metadata": req.metadata or {}},
            "messages": [stored_message(completion_id, i, m) for i, m in enumerate(req.messages)],
        }
        await store.put_object(owner, Kind.COMPLETION, completion_id, record, [])

    return save


def chat_call(
    req: ChatCompletionRequest,
    models: ModelRegistry,
    limits: Limits,
    store: ResponseStore | None = None,
    owner: str = "",
) -> Call:
    """`store` (already pinged) keeps the completion when the request asks for it."""
    check_limits(req, limits)
    served = models.resolve(req.model, "chat")
    max_tokens = rules.completion_tokens(served, limits, req.token_limit, req.token_limit_param)
    for i, m in enumerate(req.messages):
        rules.text_only(m.non_text_part_types(), f"messages[{i}].content")
    named = req.tool_choice.function.name if isinstance(req.tool_choice, NamedToolChoice) else None
    choice = req.tool_choice if isinstance(req.tool_choice, str) else None
    response_format = req.response_format.type if req.response_format else "text"
    json_schema = req.response_format.json_schema if req.response_format else None
    request = GenerationRequest(
        messages=tuple(message(m) for m in req.messages),
        max_tokens=max_tokens,
        logprobs=(req.top_logprobs or 0) if req.logprobs else None,
        response_format=response_format,
        json_schema=(json_schema.schema_ or {}) if json_schema else None,
        json_schema_name=json_schema.name if json_schema else None,
        json_schema_strict=json_schema.strict if json_schema else None,
        tools=tuple(
            ToolSpec(
                t.function.name, t.function.description, t.function.parameters, t.function.strict
            )
            for t in req.tools or ()
        ),
        tool_choice=rules.tool_choice(bool(req.tools), choice, named),
        model=req.model,
        **sampling(req),
    )
    return Call(
        served,
        (PromptGroup(request, req.n or 1),),
        ignored=rules.ignored(req.given_fields(), HANDLED, served),
        on_complete=storing(store, owner, req) if req.store and store is not None else None,
    )
