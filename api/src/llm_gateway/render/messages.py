"""Anthropic's Messages API: a generation's events as one `message` object, or as its stream:
`message_start`, then per content block `content_block_start`, `content_block_delta`…,
`content_block_stop`, then `message_delta` (stop reason, usage) and `message_stop`, each framed
`event: NAME\\ndata: JSON\\n\\n` (no `[DONE]`).

Text becomes `text` blocks; tool-call fragments become `tool_use` blocks whose `input` is the
parsed arguments. Arguments stream as `input_json_delta`s when they start like a JSON object,
and the folded body parses them the way the SDKs' stream accumulator does (partial JSON
allowed: a call cut off by `max_tokens` keeps the fields it completed), so the two agree.
Arguments that are not a JSON object become `input: {}` — the client's own validation of the
tool's input then tells the model what is missing; such arguments are never streamed (they
are held back until the call ends and sent as the `{}` the body has), so no SDK is handed
text it cannot parse. Streaming and folding share one state machine, as in the Responses
renderer, so they cannot disagree.

Only choice 0 exists (the Messages API has no `n`). The finished message is handed to the
generation's `complete()` hook before the client is told it is complete.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, Protocol

import orjson
import pydantic_core

from ..backends import Delta, ToolCallDelta
from ..errors import anthropic_error_body, api_error
from ..protocol.ids import hex_id
from .base import cached_tokens

PING = b'event: ping\ndata: {"type":"ping"}\n\n'
"""What Anthropic sends to keep a quiet stream open; the SDKs skip it."""

STOP_REASONS = {"length": "max_tokens", "content_filter": "refusal", "tool_calls": "tool_use"}


class MessagesGeneration(Protocol):
    """What this renderer needs of a generation."""

    model: str

    def events(self) -> AsyncIterator[tuple[int, Delta]]: ...

    async def fold(self, add: Callable[[int, Delta], None]) -> None: ...

    def usage(self) -> dict[str, Any]: ...

    async def complete(self, body: dict[str, Any]) -> None:
        """Called with the finished message before the client is told it is complete."""
        ...


def event(kind: str, payload: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def tool_use_id(call_id: str | None) -> str:
    """Anthropic's `toolu_` ids for the backend's call ids (`call_X` → `toolu_X`), the same id
    every time, so a client's `tool_use_id` leads back to the call."""
    if not call_id:
        return f"toolu_{hex_id()}"
    if call_id.startswith("toolu_"):
        return call_id
    return "toolu_" + call_id.removeprefix("call_")


def tool_input(arguments: str) -> dict[str, Any]:
    """The arguments as the `input` object: parsed like the SDKs' accumulator does (a
    truncated object keeps its complete fields); anything but an object is `{}`."""
    if not arguments.strip():
        return {}
    try:
        value = pydantic_core.from_json(arguments, allow_partial=True)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Anthropic counts cache reads apart: `input_tokens` are the prompt tokens evaluated,
    `cache_read_input_tokens` those the server already held (their sum is the prompt)."""
    cached = cached_tokens(usage)
    return {
        "input_tokens": usage["prompt_tokens"] - cached,
        "output_tokens": usage["completion_tokens"],
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
    }


class _Text:
    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[str] = []

    def block(self) -> dict[str, Any]:
        return {"type": "text", "text": "".join(self.parts)}


class _ToolUse:
    __slots__ = ("arguments", "held", "id", "name", "started")

    def __init__(self, call: ToolCallDelta) -> None:
        self.id = tool_use_id(call.id)
        self.name = call.name or ""
        self.arguments: list[str] = []
        self.started = False  # content_block_start sent
        self.held = False  # arguments don't look like an object: sent as `input` at the end

    def block(self, *, empty: bool = False) -> dict[str, Any]:
        arguments = {} if empty else tool_input("".join(self.arguments))
        return {"type": "tool_use", "id": self.id, "name": self.name, "input": arguments}


class _Fold:
    """The message built from deltas; with `streaming`, also the events each delta causes."""

    def __init__(self, streaming: bool) -> None:
        self.streaming = streaming
        self.blocks: list[_Text | _ToolUse] = []
        self.open: _Text | _ToolUse | None = None
        self.calls: dict[int, _ToolUse] = {}
        self.finish_reason: str | None = None
        self.stop_sequence: str | None = None
        self.text_prefix = b""  # the open text block's delta event, up to the text

    # --- events ----------------------------------------------------------------------

    def text_delta(self, text: str) -> bytes:
        """The per-token event, from a byte template."""
        return self.text_prefix + orjson.dumps(text) + b"}}\n\n"

    def _start(self, index: int, block: dict[str, Any]) -> bytes:
        return event(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": block},
        )

    def _json_delta(self, index: int, partial: str) -> bytes:
        return event(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "input_json_delta", "partial_json": partial},
            },
        )

    # --- folding ---------------------------------------------------------------------

    def apply(self, delta: Delta) -> list[bytes]:
        out: list[bytes] = []
        if delta.text:
            if not isinstance(self.open, _Text):
                out += self._open_text()
            assert isinstance(self.open, _Text)
            self.open.parts.append(delta.text)
            if self.streaming:
                out.append(self.text_delta(delta.text))
        for call in delta.tool_calls or ():
            out += self._tool_fragment(call)
        if delta.finish_reason is not None:
            self.finish_reason = delta.finish_reason
            self.stop_sequence = delta.stop_sequence
        return out

    def _open_text(self) -> list[bytes]:
        out = self.close()
        block = _Text()
        index = len(self.blocks)
        self.blocks.append(block)
        self.open = block
        if self.streaming:
            self.text_prefix = (
                b'event: content_block_delta\ndata: {"type":"content_block_delta","index":'
                + str(index).encode()
                + b',"delta":{"type":"text_delta","text":'
            )
            out.append(self._start(index, {"type": "text", "text": ""}))
        return out

    def _tool_fragment(self, call: ToolCallDelta) -> list[bytes]:
        use = self.calls.get(call.index)
        out: list[bytes] = []
        if use is None:
            out += self.close()
            use = self.calls[call.index] = _ToolUse(call)
            self.blocks.append(use)
            self.open = use
        elif use is not self.open:
            return out  # a fragment of a call already closed: calls are taken in order
        elif call.name and not use.arguments:
            use.name += call.name  # a name in pieces, before any argument
        if not call.arguments:
            return out
        use.arguments.append(call.arguments)
        if not self.streaming or use.held:
            return out
        index = len(self.blocks) - 1
        if use.started:
            out.append(self._json_delta(index, call.arguments))
            return out
        so_far = "".join(use.arguments)
        if not so_far.strip():
            return out
        if so_far.lstrip().startswith("{"):
            use.started = True
            out.append(self._start(index, use.block(empty=True)))
            out.append(self._json_delta(index, so_far))
        else:
            use.held = True
        return out

    def close(self) -> list[bytes]:
        """End the open block (its `content_block_stop`)."""
        block, self.open = self.open, None
        if block is None or not self.streaming:
            return []
        index = self.blocks.index(block)
        out: list[bytes] = []
        if isinstance(block, _ToolUse) and not block.started:
            block.started = True
            out.append(self._start(index, block.block(empty=True)))
            arguments = block.block()["input"]
            if arguments:
                out.append(self._json_delta(index, orjson.dumps(arguments).decode()))
        out.append(event("content_block_stop", {"type": "content_block_stop", "index": index}))
        return out

    # --- the message -----------------------------------------------------------------

    def stop_reason(self) -> str:
        finish = self.finish_reason
        if finish in STOP_REASONS:
            return STOP_REASONS[finish]
        if any(isinstance(b, _ToolUse) for b in self.blocks):
            return "tool_use"
        return "stop_sequence" if self.stop_sequence else "end_turn"

    def content(self) -> list[dict[str, Any]]:
        return [b.block() for b in self.blocks]


class MessagesRenderer:
    keepalive = PING

    def __init__(self, generation: MessagesGeneration, *, message_id: str | None = None) -> None:
        self.generation = generation
        self.id = message_id or f"msg_{hex_id()}"

    def _message(self, fold: _Fold | None) -> dict[str, Any]:
        """The message: empty and unfinished for `message_start`, else as folded so far."""
        return {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.generation.model,
            "content": fold.content() if fold is not None else [],
            "stop_reason": fold.stop_reason() if fold is not None else None,
            "stop_sequence": fold.stop_sequence if fold is not None else None,
            "stop_details": None,
            "usage": _usage(self.generation.usage()),
        }

    def _message_start(self) -> bytes:
        return event("message_start", {"type": "message_start", "message": self._message(None)})

    async def sse(self) -> AsyncGenerator[bytes, None]:
        fold = _Fold(streaming=True)
        started = False
        async for index, delta in self.generation.events():
            if index:
                continue
            if not started:
                # After the first event: the prompt's token count is known by then.
                started = True
                yield self._message_start()
            if (
                delta.text
                and fold.open is not None
                and isinstance(fold.open, _Text)
                and not delta.tool_calls
                and delta.finish_reason is None
            ):
                fold.open.parts.append(delta.text)
                yield fold.text_delta(delta.text)
                continue
            for chunk in fold.apply(delta):
                yield chunk
        if not started:
            yield self._message_start()
        for chunk in fold.close():
            yield chunk
        final = self._message(fold)
        await self.generation.complete(final)
        yield event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": final["stop_reason"],
                    "stop_sequence": final["stop_sequence"],
                    "stop_details": None,
                },
                "usage": final["usage"],
            },
        )
        yield event("message_stop", {"type": "message_stop"})

    async def body(self) -> dict[str, Any]:
        fold = _Fold(streaming=False)

        def add(index: int, delta: Delta) -> None:
            if index:
                return
            # The per-token case, as in `sse()`: more text for the open text block.
            if (
                delta.text
                and isinstance(fold.open, _Text)
                and not delta.tool_calls
                and delta.finish_reason is None
            ):
                fold.open.parts.append(delta.text)
            else:
                fold.apply(delta)

        await self.generation.fold(add)
        final = self._message(fold)
        await self.generation.complete(final)
        return final

    def error_tail(self, exc: BaseException) -> bytes:
        """A stream that fails after it began: one `error` event, as Anthropic sends it."""
        return event("error", anthropic_error_body(api_error(exc)))
