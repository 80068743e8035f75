"""The OpenAI wire format on the upstream side: our requests as request bodies, and the
pieces of a streamed chunk (finish reasons, tool calls, logprobs) in our types."""

from __future__ import annotations

from typing import Any, cast

from ..types import (
    FinishReason,
    GenerationRequest,
    Message,
    TokenLogprob,
    ToolCallDelta,
    ToolSpec,
    TopLogprob,
)

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",  # the pre-tools name
    "content_filter": "content_filter",
}
_TOOL_CHOICES = {"none", "auto", "required"}


def _message(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = list(message.tool_calls)
        if not message.content:
            out["content"] = None
    if message.name is not None:
        out["name"] = message.name
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    return out


def _tool(tool: ToolSpec) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        function["description"] = tool.description
    if tool.parameters is not None:
        function["parameters"] = tool.parameters
    if tool.strict is not None:
        function["strict"] = tool.strict
    return {"type": "function", "function": function}


def _sampling(request: GenerationRequest, model: str, n: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if n > 1:
        body["n"] = n
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.stop:
        body["stop"] = list(request.stop)
    for name in ("temperature", "top_p", "seed", "presence_penalty", "frequency_penalty"):
        value = getattr(request, name)
        if value is not None:
            body[name] = value
    if request.logit_bias:
        body["logit_bias"] = {str(token): bias for token, bias in request.logit_bias.items()}
    return body


def chat_body(request: GenerationRequest, model: str, n: int = 1) -> dict[str, Any]:
    """A streaming `/chat/completions` body asking for usage, with every field that was set."""
    body = _sampling(request, model, n)
    body["messages"] = [_message(m) for m in request.messages or ()]
    if request.logprobs is not None:
        body["logprobs"] = True
        body["top_logprobs"] = request.logprobs
    if request.response_format == "json_object":
        body["response_format"] = {"type": "json_object"}
    elif request.response_format == "json_schema":
        schema: dict[str, Any] = {
            "name": request.json_schema_name or "response",
            "schema": request.json_schema or {},
        }
        if request.json_schema_strict is not None:
            schema["strict"] = request.json_schema_strict
        body["response_format"] = {"type": "json_schema", "json_schema": schema}
    if request.tools:
        body["tools"] = [_tool(t) for t in request.tools]
        choice = request.tool_choice
        body["tool_choice"] = (
            choice
            if choice in _TOOL_CHOICES
            else {"type": "function", "function": {"name": choice}}
        )
    return body


def completion_body(request: GenerationRequest, model: str, n: int = 1) -> dict[str, Any]:
    """A streaming `/completions` body asking for usage, with every field that was set."""
    body = _sampling(request, model, n)
    body["prompt"] = request.prompt or ""
    if request.logprobs is not None:
        body["logprobs"] = request.logprobs
    return body


def finish_reason(value: Any) -> FinishReason | None:
    """The upstream's finish reason in our terms (an unknown one counts as `stop`)."""
    if value is None:
        return None
    return _FINISH.get(value, "stop") if isinstance(value, str) else "stop"


def tool_call_deltas(calls: list[dict[str, Any]]) -> list[ToolCallDelta]:
    out = []
    for call in calls:
        function = call.get("function") or {}
        out.append(
            ToolCallDelta(
                index=int(call.get("index", 0)),
                id=call.get("id"),
                name=function.get("name"),
                arguments=function.get("arguments") or "",
            )
        )
    return out


def _top(entry: dict[str, Any]) -> TopLogprob:
    return TopLogprob(str(entry["token"]), float(entry["logprob"]), entry.get("bytes"))


def chat_logprobs(logprobs: dict[str, Any] | None) -> list[TokenLogprob] | None:
    """`choices[].logprobs` of a chat chunk: `{"content": [{token, logprob, bytes,
    top_logprobs}]}`."""
    if not logprobs or not logprobs.get("content"):
        return None
    return [
        TokenLogprob(
            str(entry["token"]),
            float(entry["logprob"]),
            entry.get("bytes"),
            tuple(_top(t) for t in entry.get("top_logprobs") or ()),
        )
        for entry in cast(list[dict[str, Any]], logprobs["content"])
    ]


def completion_logprobs(logprobs: dict[str, Any] | None) -> list[TokenLogprob] | None:
    """`choices[].logprobs` of a legacy completion chunk: parallel lists."""
    if not logprobs or not logprobs.get("tokens"):
        return None
    tops = logprobs.get("top_logprobs") or [None] * len(logprobs["tokens"])
    return [
        TokenLogprob(
            str(token),
            float(logprob) if logprob is not None else 0.0,
            None,
            tuple(TopLogprob(t, float(lp), None) for t, lp in (top or {}).items()),
        )
        for token, logprob, top in zip(
            logprobs["tokens"], logprobs["token_logprobs"], tops, strict=True
        )
    ]
