"""ASGI responses that notice when the client goes away, or the server is shutting down, and
stop the work at once."""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..errors import ServerShuttingDown
from ..http_errors import remember_error
from ..service import Generation
from ..service.sse import error_events

T = TypeVar("T")

SSE_HEADERS = {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
}


class Interruption(enum.Enum):
    DISCONNECT = "disconnect"  # the client went away
    SHUTDOWN = "shutdown"  # the worker's graceful shutdown period is ending


def shutdown_error() -> ServerShuttingDown:
    return ServerShuttingDown(
        "The server is shutting down; retry the request.", headers={"Retry-After": "1"}
    )


async def _wait_for_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def until_interrupted(
    receive: Receive, work: Awaitable[T], shutdown: asyncio.Event | None = None
) -> tuple[Interruption | None, T | None]:
    """Run `work` unless the client disconnects or `shutdown` is set first; then cancel it.

    Returns (what interrupted it or None, its result). Work that finished wins a tie."""
    task = asyncio.ensure_future(work)
    watchers: dict[asyncio.Future[Any], Interruption] = {
        asyncio.ensure_future(_wait_for_disconnect(receive)): Interruption.DISCONNECT
    }
    if shutdown is not None:
        watchers[asyncio.ensure_future(shutdown.wait())] = Interruption.SHUTDOWN
    try:
        await asyncio.wait({task, *watchers}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for watcher in watchers:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
    if not task.cancelled():
        return None, task.result()
    for watcher, interruption in watchers.items():
        if not watcher.cancelled():
            return interruption, None
    return Interruption.DISCONNECT, None  # cancelled from inside: treat as a lost client


class SSEResponse(Response):
    """Streams already-framed SSE bytes; a disconnect cancels the generation, and a shutdown
    ends the stream with an error event and `[DONE]` rather than a silently cut stream."""

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        generation: Generation,
        headers: dict[str, str],
        shutdown: asyncio.Event | None = None,
    ) -> None:
        # Not Response.__init__: it would add `content-length: 0`.
        self.status_code = 200
        self.background = None
        self.raw_headers = [(k.encode(), v.encode()) for k, v in {**SSE_HEADERS, **headers}.items()]
        self.chunks = chunks
        self.generation = generation
        self.shutdown = shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})

        async def pump() -> None:
            async for chunk in self.chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        stats = self.generation.stats
        try:
            interruption, _ = await until_interrupted(receive, pump(), self.shutdown)
            if interruption is Interruption.DISCONNECT:
                stats.disconnected = True
            elif interruption is Interruption.SHUTDOWN:
                # Each event is one `send`, so the cancelled pump left no half-written event.
                error = shutdown_error()
                stats.error_type = error.type
                remember_error(scope, error)
                tail = error_events(error)
                await send({"type": "http.response.body", "body": tail, "more_body": False})
        finally:
            await self.chunks.aclose()  # type: ignore[attr-defined]
            await self.generation.aclose()
