"""`chat.completion` and `chat.completion.chunk`: a generation's events as chat."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from typing import Any

import orjson

from ..backends import Delta, TokenLogprob, ToolCallDelta
from ..protocol.ids import hex_id
from ..service import Generation
from .sse import DONE, KEEPALIVE, error_events, sse


def logprob_entries(logprobs: list[TokenLogprob]) -> list[dict[str, Any]]:
    return [
        {
            "token": lp.token,
            "logprob": lp.logprob,
            "bytes": lp.bytes,
            "top_logprobs": [
                {"token": t.token, "logprob": t.logprob, "bytes": t.bytes} for t in lp.top
            ],
        }
        for lp in logprobs
    ]


def _tool_call_chunk(call: ToolCallDelta) -> dict[str, Any]:
    out: dict[str, Any] = {"index": call.index}
    if call.id is not None:
        out["id"] = call.id
        out["type"] = "function"
    function: dict[str, str] = {"arguments": call.arguments}
    if call.name is not None:
        function["name"] = call.name
    out["function"] = function
    return out


class _Chunks:
    """Builds chunk bytes. The hot path (a plain content delta) is a byte template."""

    def __init__(self, head: dict[str, Any], include_usage: bool) -> None:
        self._head = head
        prefix = orjson.dumps(self._head)[:-1]
        self._content_prefix = b"data: " + prefix + b',"choices":[{"index":'
        self._usage_null = b',"usage":null' if include_usage else b""
        self._include_usage = include_usage

    def content(self, index: int, text: str) -> bytes:
        return b"".join(
            (
                self._content_prefix,
                str(index).encode(),
                b',"delta":{"content":',
                orjson.dumps(text),
                b'},"logprobs":null,"finish_reason":null}]',
                self._usage_null,
                b"}\n\n",
            )
        )

    def chunk(
        self,
        index: int,
        delta: dict[str, Any],
        *,
        logprobs: list[TokenLogprob] | None = None,
        finish_reason: str | None = None,
    ) -> bytes:
        choice = {
            "index": index,
            "delta": delta,
            "logprobs": {"content": logprob_entries(logprobs), "refusal": None}
            if logprobs
            else None,
            "finish_reason": finish_reason,
        }
        body: dict[str, Any] = {**self._head, "choices": [choice]}
        if self._include_usage:
            body["usage"] = None
        return sse(body)

    def usage(self, usage: dict[str, Any]) -> bytes:
        return sse({**self._head, "choices": [], "usage": usage})


class _ChoiceFold:
    __slots__ = ("finish_reason", "logprobs", "text", "tool_calls")

    def __init__(self) -> None:
        self.text: list[str] = []
        self.logprobs: list[TokenLogprob] | None = None
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None

    def add(self, delta: Delta) -> None:
        if delta.text:
            self.text.append(delta.text)
        if delta.logprobs:
            self.logprobs = (self.logprobs or []) + delta.logprobs
        for call in delta.tool_calls or ():
            entry = self.tool_calls.setdefault(
                call.index,
                {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
            )
            if call.id is not None:
                entry["id"] = call.id
            if call.name is not None:
                entry["function"]["name"] += call.name
            entry["function"]["arguments"] += call.arguments
        if delta.finish_reason is not None:
            self.finish_reason = delta.finish_reason

    def render(self, index: int, want_logprobs: bool) -> dict[str, Any]:
        text = "".join(self.text)
        message: dict[str, Any] = {
            "role": "assistant",
            "content": text if text or not self.tool_calls else None,
            "refusal": None,
        }
        if self.tool_calls:
            message["tool_calls"] = [self.tool_calls[i] for i in sorted(self.tool_calls)]
        logprobs = None
        if want_logprobs:
            logprobs = {"content": logprob_entries(self.logprobs or []), "refusal": None}
        return {
            "index": index,
            "message": message,
            "logprobs": logprobs,
            "finish_reason": self.finish_reason or "stop",
        }


class ChatRenderer:
    keepalive = KEEPALIVE

    def __init__(self, generation: Generation, *, include_usage: bool = False) -> None:
        self.generation = generation
        self.include_usage = include_usage
        self.id = f"chatcmpl-{hex_id()}"
        self.created = int(time.time())

    def _head(self, kind: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": kind,
            "created": self.created,
            "model": self.generation.model,
        }

    async def sse(self) -> AsyncGenerator[bytes, None]:
        generation = self.generation
        chunks = _Chunks(self._head("chat.completion.chunk"), self.include_usage)
        opened: set[int] = set()
        # Folded alongside only when someone needs the whole completion (a stored one).
        folds = [_ChoiceFold() for _ in generation.requests] if generation.wants_body else None
        async for index, delta in generation.events():
            if folds is not None:
                folds[index].add(delta)
            if index not in opened:
                opened.add(index)
                content: str | None = None if delta.tool_calls and not delta.text else ""
                yield chunks.chunk(index, {"role": "assistant", "content": content})
            if delta.logprobs:
                yield chunks.chunk(index, {"content": delta.text}, logprobs=delta.logprobs)
            elif delta.text:
                yield chunks.content(index, delta.text)
            if delta.tool_calls:
                calls = [_tool_call_chunk(c) for c in delta.tool_calls]
                yield chunks.chunk(index, {"tool_calls": calls})
            if delta.finish_reason is not None:
                yield chunks.chunk(index, {}, finish_reason=delta.finish_reason)
        if folds is not None:
            await generation.complete(self._fold(folds))
        if self.include_usage:
            yield chunks.usage(generation.usage())
        yield DONE

    def error_tail(self, exc: BaseException) -> bytes:
        return error_events(exc)

    async def body(self) -> dict[str, Any]:
        generation = self.generation
        choices = [_ChoiceFold() for _ in generation.requests]

        def add(index: int, delta: Delta) -> None:
            plain_text = delta.finish_reason is None and not delta.logprobs and not delta.tool_calls
            if delta.text and plain_text:  # the per-token case: more text
                choices[index].text.append(delta.text)
            else:
                choices[index].add(delta)

        await generation.fold(add)
        body = self._fold(choices)
        await generation.complete(body)
        return body

    def _fold(self, choices: list[_ChoiceFold]) -> dict[str, Any]:
        want_logprobs = self.generation.requests[0].logprobs is not None
        return {
            **self._head("chat.completion"),
            "choices": [c.render(i, want_logprobs) for i, c in enumerate(choices)],
            "usage": self.generation.usage(),
        }
