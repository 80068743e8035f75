"""Shared tail of the two completion routes: streaming or folded JSON."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import Request, Response

from ..service import Generation
from .streaming import Interruption, SSEResponse, shutdown_error, until_interrupted

CLIENT_CLOSED = 499  # nginx's convention; the client never sees it


def _headers(generation: Generation) -> dict[str, str]:
    ignored = generation.stats.ignored_params
    return {"x-ignored-params": ", ".join(ignored)} if ignored else {}


async def respond(
    request: Request,
    generation: Generation,
    *,
    stream: bool,
    encode: Callable[[], Any],
    fold: Callable[[], Awaitable[dict[str, Any]]],
) -> Response:
    """`encode()` gives the SSE byte iterator, `fold()` the whole body; both read
    `generation.events()`, so they cannot disagree. A request still waiting for a slot, or a
    non-streaming one still generating, when the server's shutdown period ends gets a 503."""
    request.state.generation = generation
    shutdown: asyncio.Event = request.app.state.shutting_down
    if shutdown.is_set():
        raise shutdown_error()
    if stream:
        interruption, _ = await until_interrupted(request.receive, generation.start(), shutdown)
        if interruption is Interruption.SHUTDOWN:
            raise shutdown_error()
        if interruption is Interruption.DISCONNECT:
            generation.stats.disconnected = True
            return Response(status_code=CLIENT_CLOSED)
        return SSEResponse(encode(), generation, _headers(generation), shutdown)

    async def run() -> dict[str, Any]:
        await generation.start()
        return await fold()

    try:
        interruption, body = await until_interrupted(request.receive, run(), shutdown)
    finally:
        await generation.aclose()
    if interruption is Interruption.SHUTDOWN:
        raise shutdown_error()
    if interruption is Interruption.DISCONNECT:
        generation.stats.disconnected = True
        return Response(status_code=CLIENT_CLOSED)
    return Response(orjson.dumps(body), media_type="application/json", headers=_headers(generation))
