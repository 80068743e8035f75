"""`OpenAIBackend`: any OpenAI-compatible server (vLLM, llama.cpp's server, Ollama, LiteLLM,
OpenAI itself, another llm-gateway) as the model. Requests are always streamed from the
upstream and passed on as `Delta`s as they arrive, so this server's renderers, ids, headers,
limits and error rules hold; usage comes from the upstream."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import replace
from typing import Any

import httpx
import orjson
import structlog

from ...errors import APIError, InvalidRequest, UpstreamError
from ..base import GENERATION_PARAMS, Backend, ChoiceDelta
from ..types import (
    Delta,
    EmbeddingRequest,
    Embeddings,
    GenerationRequest,
    PromptGroup,
)
from . import upstream_errors, wire
from .chunks import CallChunks
from .client import create_client
from .pool import UpstreamPool
from .settings import UpstreamSettings
from .sse import EventTooLong, sse_data

log = structlog.get_logger("llm_gateway.backends.openai")

DRAIN_TIMEOUT = 1.0  # seconds; the body's end normally follows `[DONE]` at once


class OpenAIBackend(Backend[UpstreamSettings]):
    name = "openai"
    settings_class = UpstreamSettings
    supported_params = GENERATION_PARAMS
    default_concurrency = 256  # the upstream does the work (and batches it)
    supports_embeddings = True
    supports_dimensions = True

    def __init__(self, settings: UpstreamSettings) -> None:
        super().__init__(settings)
        self._client: httpx.AsyncClient | None = None
        self._pool: UpstreamPool | None = None
        self._n_refused = False  # the upstream answered `n` > 1 with an error naming it

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

    async def stream_choices(
        self, groups: Sequence[PromptGroup]
    ) -> AsyncGenerator[ChoiceDelta, None]:
        """The `n` choices of each group in one upstream call (`n` forwarded) unless
        UPSTREAM_FORWARD_N=false or the upstream refused `n` before; groups one after another.
        Choices an upstream leaves out (one that ignores `n`, or refuses it: llama.cpp's server
        answers `n: 3` with a 500 "Only one completion choice is allowed") are asked for by
        one more call each."""
        start = 0
        for group in groups:
            produced: set[int] = set()
            if self.settings.upstream_forward_n and (group.n == 1 or not self._n_refused):
                try:
                    async with aclosing(self._call(group.request, group.n)) as deltas:
                        async for index, delta in deltas:
                            produced.add(index)
                            yield start + index, delta
                except APIError as exc:
                    if produced or group.n == 1 or not refuses_n(exc):
                        raise
                    # Remembered for this worker: later requests fan out at once.
                    self._n_refused = True
                    log.warning("upstream_refuses_n", backend=self.name, error=exc.message)
            for index in range(group.n):
                if index not in produced:
                    async with aclosing(self._call(_alone(group.request, index), 1)) as deltas:
                        async for _, delta in deltas:
                            yield start + index, delta
            start += group.n

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
        async with pool.post(client, path, body) as (upstream, response):
            content_type = response.headers.get("content-type", "")
            if not content_type.startswith("text/event-stream"):
                raise upstream_errors.bad_response(
                    upstream.label, f"content-type {content_type!r} instead of an event stream"
                )
            call = CallChunks(upstream.label, n, chat)
            async with aclosing(sse_data(response.aiter_bytes())) as events:
                done = False
                try:
                    async for data in events:
                        if data == b"[DONE]":
                            done = True
                            break
                        for index, delta in call.feed(data):
                            yield index, delta
                except EventTooLong as exc:
                    raise upstream_errors.bad_response(upstream.label, str(exc)) from None
                for index, delta in call.finishes(done):
                    yield index, delta
                if done:
                    await _drain(events)

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
            except (KeyError, TypeError, ValueError, AttributeError):
                raise upstream_errors.bad_response(
                    upstream.label, "not an embedding list"
                ) from None


async def _drain(events: AsyncIterator[bytes]) -> None:
    """Read what follows `[DONE]` (the end of the body), so that the connection goes back to
    the pool instead of being closed; an upstream that holds it open after `[DONE]` loses it."""
    with contextlib.suppress(TimeoutError, httpx.RequestError, EventTooLong):
        async with asyncio.timeout(DRAIN_TIMEOUT):
            async for _ in events:
                pass


_NAMES_N = re.compile(r"\bn\b|\bchoices?\b", re.IGNORECASE)


def refuses_n(error: APIError) -> bool:
    """An upstream's error about `n` itself: `param: "n"`, or a message naming `n` or
    choices (llama.cpp's server: a 500 "Only one completion choice is allowed"). Gateway
    errors (502, 503, 504: unreachable, overloaded, timed out) are not refusals."""
    if not isinstance(error, UpstreamError) or error.status in (502, 503, 504):
        return False
    return error.param == "n" or bool(_NAMES_N.search(error.message))


def _alone(request: GenerationRequest, index: int) -> GenerationRequest:
    """Choice `index` asked for by a call of its own: a seed varies by choice, as `n` would."""
    if not index:
        return request
    seed = None if request.seed is None else request.seed + index
    return replace(request, choice_index=index, seed=seed)


def _embeddings(body: Any, count: int) -> Embeddings:
    """An `/embeddings` answer: float vectors, one per input, put back in input order."""
    data = sorted(body["data"], key=lambda item: item["index"])
    if [item["index"] for item in data] != list(range(count)):
        raise ValueError("not one vector per input")
    vectors = []
    for item in data:
        vector = item["embedding"]
        if not isinstance(vector, list) or not all(isinstance(x, float | int) for x in vector):
            raise ValueError("not a list of numbers")
        vectors.append(vector)
    tokens = (body.get("usage") or {}).get("prompt_tokens")
    return Embeddings(vectors=vectors, prompt_tokens=tokens if isinstance(tokens, int) else 0)
