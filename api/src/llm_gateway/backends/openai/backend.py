"""`OpenAIBackend`: any OpenAI-compatible server (vLLM, llama.cpp's server, Ollama, LiteLLM,
OpenAI itself, another llm-gateway) as the model. Requests are always streamed from the
upstream and passed on as `Delta`s as they arrive, so this server's renderers, ids, headers,
limits and error rules hold; usage comes from the upstream."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import orjson

from ...errors import InvalidRequest
from ..base import Backend
from ..types import (
    Delta,
    EmbeddingRequest,
    Embeddings,
    FinishReason,
    GenerationRequest,
)
from . import upstream_errors, wire
from .client import create_client
from .pool import Upstream, UpstreamPool
from .settings import UpstreamSettings
from .sse import sse_data

DRAIN_TIMEOUT = 1.0  # seconds; the body's end normally follows `[DONE]` at once


class _Malformed(Exception):
    """A chunk that is JSON but not the shape of an OpenAI chunk."""


@dataclass(slots=True)
class _Call:
    """What one upstream call for `n` choices produced, by choice index."""

    n: int
    started: set[int] = field(default_factory=set)
    finished: dict[int, FinishReason] = field(default_factory=dict)
    chunks: Counter[int] = field(default_factory=Counter)
    """Chunks (or logprob tokens) of each choice: its token count when there is no usage."""
    usage: dict[str, Any] | None = None


class OpenAIBackend(Backend[UpstreamSettings]):
    name = "openai"
    settings_class = UpstreamSettings
    supported_params = frozenset(
        {
            "temperature",
            "top_p",
            "seed",
            "presence_penalty",
            "frequency_penalty",
            "logit_bias",
            "logprobs",
            "top_logprobs",
            "response_format",
            "tools",
            "tool_choice",
        }
    )
    default_concurrency = 256  # the upstream does the work (and batches it)
    supports_embeddings = True
    supports_dimensions = True

    def __init__(self, settings: UpstreamSettings) -> None:
        super().__init__(settings)
        self._client: httpx.AsyncClient | None = None
        self._pool: UpstreamPool | None = None

    async def load(self) -> None:
        """Nothing is asked of the upstreams here: they may start after this server."""
        self._pool = UpstreamPool(
            self.settings.upstream_base_url,
            cooldown=self.settings.upstream_cooldown,
            metrics=self.upstream_metrics,
        )
        self._client = create_client(self.settings, max_keepalive=self.default_concurrency)
        self.ready = True

    async def close(self) -> None:
        self.ready = False
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def _connection(self) -> tuple[httpx.AsyncClient, UpstreamPool]:
        if self._client is None or self._pool is None:
            raise RuntimeError("the openai backend is not loaded")
        return self._client, self._pool

    def _model(self, requested: str | None) -> str:
        model = self.settings.upstream_model or requested
        if not model:
            raise InvalidRequest("No model to ask the upstream for.", param="model")
        return model

    # --- generation -----------------------------------------------------------------------

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        async with aclosing(self.stream_choices([request])) as choices:
            async for _, delta in choices:
                yield delta

    async def stream_choices(
        self, requests: Sequence[GenerationRequest]
    ) -> AsyncGenerator[tuple[int, Delta], None]:
        """The `n` choices of each prompt in one upstream call (`n` forwarded) unless
        UPSTREAM_FORWARD_N=false; prompts one after another. Choices an upstream leaves out
        (one that ignores `n`) are asked for by one more call each."""
        starts = [i for i, r in enumerate(requests) if i == 0 or r.choice_index == 0]
        for start, end in zip(starts, [*starts[1:], len(requests)], strict=True):
            group = requests[start:end]
            produced: set[int] = set()
            if self.settings.upstream_forward_n:
                async with aclosing(self._call(group[0], len(group))) as deltas:
                    async for index, delta in deltas:
                        produced.add(index)
                        yield start + index, delta
            for index in range(len(group)):
                if index not in produced:
                    async with aclosing(self._call(_alone(group[index]), 1)) as deltas:
                        async for _, delta in deltas:
                            yield start + index, delta

    async def _call(
        self, request: GenerationRequest, n: int
    ) -> AsyncGenerator[tuple[int, Delta], None]:
        """One streamed upstream call for `n` choices of `request`: their deltas as they come,
        each choice's finish held back until the stream's end, where the usage arrives."""
        client, pool = self._connection()
        chat = request.messages is not None
        model = self._model(request.model)
        if chat:
            path, body = "/chat/completions", wire.chat_body(request, model, n)
        else:
            path, body = "/completions", wire.completion_body(request, model, n)
        call = _Call(n)
        async with pool.post(client, path, body) as (upstream, response):
            content_type = response.headers.get("content-type", "")
            if not content_type.startswith("text/event-stream"):
                raise upstream_errors.bad_response(
                    upstream.label, f"content-type {content_type!r} instead of an event stream"
                )
            async with aclosing(sse_data(response.aiter_bytes())) as events:
                done = False
                async for data in events:
                    if data == b"[DONE]":
                        done = True
                        break
                    for index, delta in self._deltas(upstream, data, chat, call):
                        yield index, delta
                if call.started - call.finished.keys() or not (done or call.finished):
                    raise upstream_errors.bad_response(upstream.label, "a stream cut short")
                if not call.finished:
                    raise upstream_errors.bad_response(upstream.label, "a stream without a choice")
                for index, delta in _finishes(call):
                    yield index, delta
                if done:
                    await _drain(events)

    @staticmethod
    def _deltas(
        upstream: Upstream, data: bytes, chat: bool, call: _Call
    ) -> list[tuple[int, Delta]]:
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise upstream_errors.bad_response(
                upstream.label, "an event that is not JSON"
            ) from None
        if isinstance(chunk, dict) and chunk.get("error") is not None:
            raise upstream_errors.from_error_body(upstream.label, None, data)
        try:
            return _chunk_deltas(chunk, chat, call)
        except (_Malformed, KeyError, TypeError, ValueError, AttributeError):
            raise upstream_errors.bad_response(upstream.label, "a malformed chunk") from None

    # --- embeddings -----------------------------------------------------------------------

    async def embed(self, request: EmbeddingRequest) -> Embeddings:
        client, pool = self._connection()
        body: dict[str, Any] = {
            "model": self._model(request.model),
            "input": [list(i) if isinstance(i, tuple) else i for i in request.inputs],
            "encoding_format": "float",
        }
        if request.dimensions is not None:
            body["dimensions"] = request.dimensions
        async with pool.post(client, "/embeddings", body) as (upstream, response):
            payload = await response.aread()
            try:
                return _embeddings(orjson.loads(payload), len(request.inputs))
            except (_Malformed, KeyError, TypeError, ValueError, AttributeError):
                raise upstream_errors.bad_response(
                    upstream.label, "not an embedding list"
                ) from None


async def _drain(events: AsyncIterator[bytes]) -> None:
    """Read what follows `[DONE]` (the end of the body), so that the connection goes back to
    the pool instead of being closed; an upstream that holds it open after `[DONE]` loses it."""
    with contextlib.suppress(TimeoutError, httpx.TransportError):
        async with asyncio.timeout(DRAIN_TIMEOUT):
            async for _ in events:
                pass


def _alone(request: GenerationRequest) -> GenerationRequest:
    """A choice asked for by a call of its own: a seed varies by choice, as `n` would."""
    if request.seed is None or not request.choice_index:
        return request
    return replace(request, seed=request.seed + request.choice_index)


def _chunk_deltas(chunk: Any, chat: bool, call: _Call) -> list[tuple[int, Delta]]:
    """One chunk's choices as deltas (text, tool calls, logprobs; a finish is recorded in
    `call`, not returned); its usage, if any, recorded too."""
    if not isinstance(chunk, dict):
        raise _Malformed
    usage = chunk.get("usage")
    if usage is not None:
        call.usage = usage
    out = []
    for choice in chunk.get("choices") or ():
        index = choice["index"]
        if not isinstance(index, int) or not 0 <= index < call.n:
            raise _Malformed
        if chat:
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
            call.started.add(index)
            call.chunks[index] += len(logprobs) if logprobs else 1
            out.append(
                (
                    index,
                    Delta(
                        text=text,
                        tool_calls=tool_calls,
                        logprobs=logprobs,
                        completion_tokens=call.chunks[index],
                    ),
                )
            )
        finish = wire.finish_reason(choice.get("finish_reason"))
        if finish is not None:
            call.finished[index] = finish
    return out


def _finishes(call: _Call) -> list[tuple[int, Delta]]:
    """Each finished choice's last delta, with the token counts. The upstream's usage is the
    call's total, and only totals are read (usage is reported per response), so the first
    choice carries it and the others nothing more; without usage, each choice counts its
    chunks."""
    prompt = _count(call.usage, "prompt_tokens")
    completion = _count(call.usage, "completion_tokens")
    finished = sorted(call.finished)
    counts = {index: call.chunks[index] for index in finished}
    if completion is not None and finished:
        counts = dict.fromkeys(finished, 0) | {finished[0]: completion}
    return [
        (
            i,
            Delta(
                finish_reason=call.finished[i], prompt_tokens=prompt, completion_tokens=counts[i]
            ),
        )
        for i in finished
    ]


def _count(usage: Any, name: str) -> int | None:
    value = usage.get(name) if isinstance(usage, dict) else None
    return value if isinstance(value, int) and value >= 0 else None


def _embeddings(body: Any, count: int) -> Embeddings:
    data = sorted(body["data"], key=lambda item: item["index"])
    if [item["index"] for item in data] != list(range(count)):
        raise _Malformed
    vectors = []
    for item in data:
        vector = item["embedding"]
        if not isinstance(vector, list) or not all(isinstance(x, float | int) for x in vector):
            raise _Malformed
        vectors.append(vector)
    usage = body.get("usage") or {}
    return Embeddings(vectors=vectors, prompt_tokens=_count(usage, "prompt_tokens") or 0)
