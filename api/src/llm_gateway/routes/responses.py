"""Shared tail of the two completion routes: streaming or folded JSON."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import Request, Response

from ..service import Generation
from .streaming import SSEResponse, until_disconnect

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
    `generation.events()`, so they cannot disagree."""
    request.state.generation = generation
    if stream:
        disconnected, _ = await until_disconnect(request.receive, generation.start())
        if disconnected:
            generation.stats.disconnected = True
            return Response(status_code=CLIENT_CLOSED)
        return SSEResponse(encode(), generation, _headers(generation))

    async def run() -> dict[str, Any]:
        await generation.start()
        return await fold()

    try:
        disconnected, body = await until_disconnect(request.receive, run())
    finally:
        await generation.aclose()
    if disconnected:
        generation.stats.disconnected = True
        return Response(status_code=CLIENT_CLOSED)
    return Response(orjson.dumps(body), media_type="application/json", headers=_headers(generation))
