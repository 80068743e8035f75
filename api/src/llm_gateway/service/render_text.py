"""Legacy text completion renderings of one `Generation`: SSE chunks, or the folded body."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ..backends import TokenLogprob
from .generation import Generation
from .sse import DONE, sse


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


def _echo_prefix(generation: Generation, index: int, echo: bool) -> str:
    return (generation.requests[index].prompt or "") if echo else ""


async def text_sse(
    generation: Generation, *, include_usage: bool, echo: bool
) -> AsyncIterator[bytes]:
    head = {
        "id": generation.id,
        "object": "text_completion",
        "created": generation.created,
        "model": generation.model,
    }
    opened: set[int] = set()
    offsets: dict[int, int] = {}

    def chunk(index: int, text: str, logprobs: Any = None, finish: str | None = None) -> bytes:
        choice = {"text": text, "index": index, "logprobs": logprobs, "finish_reason": finish}
        # Unlike chat, the legacy chunk schema has no nullable `usage`: only the last has it.
        return sse({**head, "choices": [choice]})

    async for index, delta in generation.events():
        text = delta.text
        if index not in opened:
            opened.add(index)
            prefix = _echo_prefix(generation, index, echo)
            offsets[index] = len(prefix)
            text = prefix + text
        logprobs = None
        if delta.logprobs:
            lp = _Logprobs(offsets.get(index, 0))
            lp.add(delta.logprobs)
            offsets[index] = lp.offset
            logprobs = lp.render()
        if text or logprobs:
            yield chunk(index, text, logprobs)
        if delta.finish_reason is not None:
            yield chunk(index, "", None, delta.finish_reason)
    if include_usage:
        yield sse({**head, "choices": [], "usage": generation.usage()})
    yield DONE


async def text_body(generation: Generation, *, echo: bool) -> dict[str, Any]:
    count = len(generation.requests)
    texts: list[list[str]] = [[_echo_prefix(generation, i, echo)] for i in range(count)]
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
        "id": generation.id,
        "object": "text_completion",
        "created": generation.created,
        "model": generation.model,
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
