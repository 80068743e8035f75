"""One upstream call's streamed events → `Delta`s by choice index, with what the call must
still account for at its end: each choice's finish and the usage."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..types import Delta, FinishReason
from . import upstream_errors, wire


class _Malformed(Exception):
    """JSON, but not the shape of an OpenAI chunk."""


@dataclass(slots=True)
class CallChunks:
    """The events of one call for `n` choices of a chat (or text completion) on `upstream`
    (its label, for errors). Finishes are held back until the end, where the usage comes."""

    upstream: str
    n: int
    chat: bool
    started: set[int] = field(default_factory=set)
    finished: dict[int, FinishReason] = field(default_factory=dict)
    chunks: Counter[int] = field(default_factory=Counter)
    """Chunks (or logprob tokens) of each choice: its token count when there is no usage."""
    usage: dict[str, Any] | None = None

    def feed(self, data: bytes) -> list[tuple[int, Delta]]:
        """One event's data (not `[DONE]`): its text, tool call and logprob deltas. Raises
        the client's error for an error event or anything that is not an OpenAI chunk."""
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise upstream_errors.bad_response(self.upstream, "an event that is not JSON") from None
        if isinstance(chunk, dict) and chunk.get("error") is not None:
            raise upstream_errors.from_error_body(self.upstream, None, data)
        try:
            return self._deltas(chunk)
        except (_Malformed, KeyError, TypeError, ValueError, AttributeError):
            raise upstream_errors.bad_response(self.upstream, "a malformed chunk") from None

    def _deltas(self, chunk: Any) -> list[tuple[int, Delta]]:
        if not isinstance(chunk, dict):
            raise _Malformed
        if chunk.get("usage") is not None:
            self.usage = chunk["usage"]
        out = []
        for choice in chunk.get("choices") or ():
            index = choice["index"]
            if not isinstance(index, int) or not 0 <= index < self.n:
                raise _Malformed
            if self.chat:
                delta = choice.get("delta") or {}
                text = delta.get("content") or ""
                calls = delta.get("tool_calls")
                tool_calls = wire.tool_call_deltas(calls) if calls else None
                logprobs = wire.chat_logprobs(choice.get("logprobs"))
            else:
                text = choice.get("text") or ""
                tool_calls = None
                logprobs = wire.completion_logprobs(choice.get("logprobs"))
            if not isinstance(text, str):
                raise _Malformed
            if text or tool_calls or logprobs:
                self.started.add(index)
                self.chunks[index] += len(logprobs) if logprobs else 1
                # Running counts: a choice cut short (client gone) is still accounted for.
                out.append(
                    (
                        index,
                        Delta(
                            text=text,
                            tool_calls=tool_calls,
                            logprobs=logprobs,
                            completion_tokens=self.chunks[index],
                        ),
                    )
                )
            finish = wire.finish_reason(choice.get("finish_reason"))
            if finish is not None:
                self.finished[index] = finish
        return out

    def finishes(self, done: bool) -> list[tuple[int, Delta]]:
        """Each finished choice's last delta, once the stream has ended (`done`: with
        `[DONE]`). Raises if a choice began without finishing, or none came at all.

        The upstream's usage is the call's total, and only totals are read (usage is reported
        per response), so the first choice carries it and the others nothing more; without
        usage, each choice counts its chunks."""
        if self.started - self.finished.keys() or not (done or self.finished):
            raise upstream_errors.bad_response(self.upstream, "a stream cut short")
        if not self.finished:
            raise upstream_errors.bad_response(self.upstream, "a stream without a choice")
        prompt = _count(self.usage, "prompt_tokens")
        details = self.usage.get("prompt_tokens_details") if isinstance(self.usage, dict) else None
        cached = _count(details, "cached_tokens")
        completion = _count(self.usage, "completion_tokens")
        finished = sorted(self.finished)
        counts = {index: self.chunks[index] for index in finished}
        if completion is not None:
            counts = dict.fromkeys(finished, 0) | {finished[0]: completion}
        return [
            (
                i,
                Delta(
                    finish_reason=self.finished[i],
                    prompt_tokens=prompt,
                    cached_tokens=cached,
                    completion_tokens=counts[i],
                ),
            )
            for i in finished
        ]


def _count(usage: Any, name: str) -> int | None:
    value = usage.get(name) if isinstance(usage, dict) else None
    return value if isinstance(value, int) and value >= 0 else None
