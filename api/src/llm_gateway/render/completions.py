"""`text_completion`: a generation's events as legacy text completions."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from typing import Any

from ..backends import TokenLogprob
from ..protocol.ids import hex_id
from ..service import Generation
from .sse import DONE, KEEPALIVE, error_events, sse


class _Logprobs:
    """The legacy logprobs shape: parallel lists with character offsets."""

    __slots__ = ("offset", "text_offset", "token_logprobs", "tokens", "top_logprobs")

    def __init__(self, offset: int = 0) -> None:
        self.offset = offset
        self.tokens: list[str] = []
        self.token_logprobs: list[float] = []
        self.top_logprobs: list[dict[str, float]] = []
        self.text_offset: list[int] = []

    def add(self, logprobs: list[TokenLogprob]) -> None:
        for lp in logprobs:
            self.tokens.append(lp.token)
            self.token_logprobs.append(lp.logprob)
            self.top_logprobs.append({t.token: t.logprob for t in lp.top})
            self.text_offset.append(self.offset)
            self.offset += len(lp.token)

    def render(self) -> dict[str, Any]:
        return {
            "tokens": self.tokens,
            "token_logprobs": self.token_logprobs,
            "top_logprobs": self.top_logprobs,
            "text_offset": self.text_offset,
        }


class CompletionRenderer:
    keepalive = KEEPALIVE

    def __init__(
        self, generation: Generation, *, include_usage: bool = False, echo: bool = False
    ) -> None:
        self.generation = generation
        self.include_usage = include_usage
        self.echo = echo
        self.head = {
            "id": f"cmpl-{hex_id()}",
            "object": "text_completion",
            "created": int(time.time()),
            "model": generation.model,
        }

    def _echo_prefix(self, index: int) -> str:
        return (self.generation.requests[index].prompt or "") if self.echo else ""

    def _chunk(
        self, index: int, text: str, logprobs: Any = None, finish: str | None = None
    ) -> bytes:
        choice = {"text": text, "index": index, "logprobs": logprobs, "finish_reason": finish}
        # Unlike chat, the legacy chunk schema has no nullable `usage`: only the last has it.
        return sse({**self.head, "choices": [choice]})

    async def sse(self) -> AsyncGenerator[bytes, None]:
        generation = self.generation
        opened: set[int] = set()
        offsets: dict[int, int] = {}
        async for index, delta in generation.events():
            text = delta.text
            if index not in opened:
                opened.add(index)
                prefix = self._echo_prefix(index)
                offsets[index] = len(prefix)
                text = prefix + text
            logprobs = None
            if delta.logprobs:
                lp = _Logprobs(offsets.get(index, 0))
                lp.add(delta.logprobs)
                offsets[index] = lp.offset
                logprobs = lp.render()
            if text or logprobs:
                yield self._chunk(index, text, logprobs)
            if delta.finish_reason is not None:
                yield self._chunk(index, "", None, delta.finish_reason)
        if self.include_usage:
            yield sse({**self.head, "choices": [], "usage": generation.usage()})
        yield DONE

    def error_tail(self, exc: BaseException) -> bytes:
        return error_events(exc)

    async def body(self) -> dict[str, Any]:
        generation = self.generation
        count = len(generation.requests)
        texts: list[list[str]] = [[self._echo_prefix(i)] for i in range(count)]
        want_logprobs = generation.requests[0].logprobs is not None
        logprobs = [_Logprobs(len(texts[i][0])) for i in range(count)]
        finish: list[str] = ["stop"] * count
        async for index, delta in generation.events():
            texts[index].append(delta.text)
            if delta.logprobs:
                logprobs[index].add(delta.logprobs)
            if delta.finish_reason is not None:
                finish[index] = delta.finish_reason
        return {
            **self.head,
            "choices": [
                {
                    "text": "".join(texts[i]),
                    "index": i,
                    "logprobs": logprobs[i].render() if want_logprobs else None,
                    "finish_reason": finish[i],
                }
                for i in range(count)
            ],
            "usage": generation.usage(),
        }
