"""The Responses API: a generation's events as a `response` object, or as its stream of
typed events (`response.created` … `response.completed`) with increasing sequence numbers.

Output items are built from the same deltas as chat: text becomes a `message` item with one
`output_text` part, tool-call fragments become `function_call` items. The finished response
is handed to the generation's completion hook (which stores it when `store` is true) before
the client is told it is complete, so a next turn can always continue from it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from typing import Any

import orjson

from ..backends import Delta, TokenLogprob
from ..errors import api_error
from ..protocol.ids import new_id
from ..protocol.responses import CreateResponseRequest, FunctionToolChoice
from ..service import Generation
from .base import cached_tokens
from .sse import KEEPALIVE

INCOMPLETE_REASONS = {"length": "max_output_tokens", "content_filter": "content_filter"}
Event = tuple[str, dict[str, Any]]
"""A stream event before framing: its type and fields."""


def event(kind: str, payload: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def _logprobs(logprobs: list[TokenLogprob] | None, *, stored: bool) -> list[dict[str, Any]]:
    """Delta events carry `ResponseLogProb`s; the finished `output_text` part, `LogProb`s
    (with bytes)."""
    out = []
    for lp in logprobs or ():
        entry: dict[str, Any] = {"token": lp.token, "logprob": lp.logprob}
        top = [{"token": t.token, "logprob": t.logprob} for t in lp.top]
        if stored:
            entry["bytes"] = lp.bytes or []
            top = [{**t, "bytes": list(str(t["token"]).encode())} for t in top]
        entry["top_logprobs"] = top
        out.append(entry)
    return out


class _Message:
    def __init__(self) -> None:
        self.id = new_id("msg")
        self.text: list[str] = []
        self.logprobs: list[TokenLogprob] = []

    def item(self, status: str) -> dict[str, Any]:
        part = self.part()
        return {
            "type": "message",
            "id": self.id,
            "status": status,
            "role": "assistant",
            "content": [part] if status != "in_progress" else [],
        }

    def part(self, text: str | None = None) -> dict[str, Any]:
        return {
            "type": "output_text",
            "text": "".join(self.text) if text is None else text,
            "annotations": [],
            "logprobs": _logprobs(self.logprobs, stored=True) if text is None else [],
        }


class _Call:
    def __init__(
        self, call_id: str | None, name: str | None, namespaced: dict[str, tuple[str, str]]
    ) -> None:
        self.id = new_id("fc")
        self.call_id = call_id or new_id("call")
        self.name = name or ""
        self.arguments: list[str] = []
        self._namespaced = namespaced

    @property
    def routed_name(self) -> tuple[str | None, str]:
        """(namespace, name) as the client routes the call: a namespace member the model
        called by its flat name `N__f` comes back as namespace `N`, name `f`."""
        return self._namespaced.get(self.name, (None, self.name))

    def item(self, status: str) -> dict[str, Any]:
        namespace, name = self.routed_name
        return {
            "type": "function_call",
            "id": self.id,
            "call_id": self.call_id,
            **({"namespace": namespace} if namespace is not None else {}),
            "name": name,
            "arguments": "".join(self.arguments) if status != "in_progress" else "",
            "status": status,
        }


class ResponsesRenderer:
    keepalive = KEEPALIVE

    def __init__(self, generation: Generation, req: CreateResponseRequest) -> None:
        self.generation = generation
        self.req = req
        self.id = new_id("resp")
        self.created_at = int(time.time())
        self.sequence = 0
        self.output: list[_Message | _Call] = []
        self.open: _Message | _Call | None = None
        self.calls: dict[int, _Call] = {}
        self.finish_reason: str | None = None
        self.namespaced = req.tool_plan.namespaced

    # --- the response object --------------------------------------------------------

    def response(self, status: str, *, error: dict[str, Any] | None = None) -> dict[str, Any]:
        req = self.req
        done = status not in {"in_progress", "queued"}
        final = "incomplete" if status == "incomplete" else "completed"
        fmt = (
            req.text.format.model_dump(by_alias=True, exclude_none=True)
            if (req.text and req.text.format)
            else {"type": "text"}
        )
        tool_choice: Any = req.tool_choice or "auto"
        if isinstance(tool_choice, FunctionToolChoice):
            tool_choice = {"type": "function", "name": tool_choice.name}
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "completed_at": int(time.time()) if status == "completed" else None,
            "error": error,
            "incomplete_details": {"reason": INCOMPLETE_REASONS[self.finish_reason or "length"]}
            if status == "incomplete"
            else None,
            "instructions": req.instructions,
            "max_output_tokens": req.max_output_tokens,
            "model": self.generation.model,
            "output": [o.item(final) for o in self.output] if done else [],
            "parallel_tool_calls": True
            if req.parallel_tool_calls is None
            else req.parallel_tool_calls,
            "previous_response_id": req.previous_response_id,
            "conversation": None if req.conversation_id is None else {"id": req.conversation_id},
            "store": bool(req.store),
            "temperature": 1.0 if req.temperature is None else req.temperature,
            "text": {"format": fmt},
            "tool_choice": tool_choice,
            "tools": [
                {
                    "type": "function",
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                    "strict": True if t.strict is None else t.strict,
                }
                for t in req.tools or ()
            ],
            "top_p": 1.0 if req.top_p is None else req.top_p,
            "truncation": req.truncation or "disabled",
            "metadata": req.metadata or {},
            # Not nullable in the spec: present once the response is done.
            **({"usage": self._usage()} if done else {}),
            **({"user": req.user} if req.user is not None else {}),
        }

    def _usage(self) -> dict[str, Any]:
        usage = self.generation.usage()
        return {
            "input_tokens": usage["prompt_tokens"],
            "input_tokens_details": {
                "cached_tokens": cached_tokens(usage),
                "cache_write_tokens": 0,
            },
            "output_tokens": usage["completion_tokens"],
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": usage["total_tokens"],
        }

    def _status(self) -> str:
        return "incomplete" if self.finish_reason in INCOMPLETE_REASONS else "completed"

    # --- events -------------------------------------------------------------------

    def _event(self, kind: str, **fields: Any) -> Event:
        """An event of the stream, not framed yet: `body()` folds the same deltas and drops
        them, `sse()` numbers and frames them (`_frame`)."""
        return kind, fields

    def _frame(self, pending: Event) -> bytes:
        kind, fields = pending
        payload = {"type": kind, **fields, "sequence_number": self.sequence}
        self.sequence += 1
        return event(kind, payload)

    def _close_open(self) -> list[Event]:
        item, self.open = self.open, None
        if item is None:
            return []
        index = self.output.index(item)
        status = "incomplete" if self._status() == "incomplete" else "completed"
        if isinstance(item, _Message):
            text = "".join(item.text)
            return [
                self._event(
                    "response.output_text.done",
                    item_id=item.id,
                    output_index=index,
                    content_index=0,
                    text=text,
                    logprobs=_logprobs(item.logprobs, stored=False),
                ),
                self._event(
                    "response.content_part.done",
                    item_id=item.id,
                    output_index=index,
                    content_index=0,
                    part=item.part(),
                ),
                self._event(
                    "response.output_item.done", output_index=index, item=item.item(status)
                ),
            ]
        return [
            self._event(
                "response.function_call_arguments.done",
                item_id=item.id,
                name=item.routed_name[1],
                output_index=index,
                arguments="".join(item.arguments),
            ),
            self._event("response.output_item.done", output_index=index, item=item.item(status)),
        ]

    def _open(self, item: _Message | _Call) -> list[Event]:
        out = self._close_open()
        self.output.append(item)
        self.open = item
        index = len(self.output) - 1
        out.append(
            self._event(
                "response.output_item.added", output_index=index, item=item.item("in_progress")
            )
        )
        if isinstance(item, _Message):
            out.append(
                self._event(
                    "response.content_part.added",
                    item_id=item.id,
                    output_index=index,
                    content_index=0,
                    part=item.part(""),
                )
            )
        return out

    def _apply(self, delta: Delta) -> list[Event]:
        """Fold one delta into the output, returning the events it causes."""
        out: list[Event] = []
        if delta.text or delta.logprobs:
            if not isinstance(self.open, _Message):
                out += self._open(_Message())
            message = self.open
            assert isinstance(message, _Message)
            message.text.append(delta.text)
            message.logprobs += delta.logprobs or []
            out.append(
                self._event(
                    "response.output_text.delta",
                    item_id=message.id,
                    output_index=len(self.output) - 1,
                    content_index=0,
                    delta=delta.text,
                    logprobs=_logprobs(delta.logprobs, stored=False),
                )
            )
        for fragment in delta.tool_calls or ():
            call = self.calls.get(fragment.index)
            if call is None:
                call = _Call(fragment.id, fragment.name, self.namespaced)
                self.calls[fragment.index] = call
                out += self._open(call)
            elif fragment.name:
                call.name += fragment.name
            if fragment.arguments:
                call.arguments.append(fragment.arguments)
                out.append(
                    self._event(
                        "response.function_call_arguments.delta",
                        item_id=call.id,
                        output_index=self.output.index(call),
                        delta=fragment.arguments,
                    )
                )
        if delta.finish_reason is not None:
            self.finish_reason = delta.finish_reason
        return out

    async def sse(self) -> AsyncGenerator[bytes, None]:
        frame = self._frame
        yield frame(self._event("response.created", response=self.response("in_progress")))
        yield frame(self._event("response.in_progress", response=self.response("in_progress")))
        async for _, delta in self.generation.events():
            for pending in self._apply(delta):
                yield frame(pending)
        for pending in self._close_open():
            yield frame(pending)
        status = self._status()
        final = self.response(status)
        await self.generation.complete(final)
        yield frame(self._event(f"response.{status}", response=final))

    async def body(self) -> dict[str, Any]:
        async for _, delta in self.generation.events():
            self._apply(delta)
        self._close_open()
        final = self.response(self._status())
        await self.generation.complete(final)
        return final

    def error_tail(self, exc: BaseException) -> bytes:
        """A stream that fails after it began: an `error` event, then `response.failed`."""
        error = api_error(exc)
        code = "rate_limit_exceeded" if error.status == 429 else "server_error"
        return self._frame(
            self._event("error", code=error.code, message=error.message, param=error.param)
        ) + self._frame(
            self._event(
                "response.failed",
                response=self.response("failed", error={"code": code, "message": error.message}),
            )
        )
