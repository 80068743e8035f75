"""ASGI responses that notice when the client goes away and stop the work at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..service import Generation

T = TypeVar("T")

SSE_HEADERS = {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
}


async def _wait_for_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def until_disconnect(receive: Receive, work: Awaitable[T]) -> tuple[bool, T | None]:
    """Run `work` unless the client disconnects first; then cancel it.

    Returns (disconnected, result)."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_wait_for_disconnect(receive))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    if task.cancelled():
        return True, None
    return False, task.result()


class SSEResponse(Response):
    """Streams already-framed SSE bytes; a disconnect cancels the generation."""

    def __init__(
        self, chunks: AsyncIterator[bytes], generation: Generation, headers: dict[str, str]
    ) -> None:
        # Not Response.__init__: it would add `content-length: 0`.
        self.status_code = 200
        self.background = None
        self.raw_headers = [(k.encode(), v.encode()) for k, v in {**SSE_HEADERS, **headers}.items()]
        self.chunks = chunks
        self.generation = generation

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})

        async def pump() -> None:
            async for chunk in self.chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        try:
            disconnected, _ = await until_disconnect(receive, pump())
            self.generation.stats.disconnected = disconnected
        finally:
            await self.chunks.aclose()  # type: ignore[attr-defined]
            await self.generation.aclose()
