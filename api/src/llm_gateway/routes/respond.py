"""The one response for a generation, streamed or not.

`GenerationResponse` owns, exactly once: taking the generation's first event (errors before
it become plain HTTP errors through the app's error handlers), sending the renderer's SSE
events or its folded body, a client that goes away (the work stops at once), the server's
shutdown (a 503, or the renderer's error tail once the stream has begun), an error after the
stream began (the renderer's error tail — for chat an error event and `[DONE]` — never a
silently cut stream), and closing the generation.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import AsyncGenerator, Awaitable
from typing import TypeVar

import orjson
import structlog
from starlette.types import Message, Receive, Scope, Send

from ..context import request_context
from ..errors import APIError, ServerShuttingDown
from ..http_errors import remember_error
from ..lifecycle import ShutdownSignal
from ..render import Renderer
from ..service import Generation
from .json import ignored_params

T = TypeVar("T")

log = structlog.get_logger("llm_gateway.stream")

CLIENT_CLOSED = 499  # nginx's convention; the client never sees it
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
JSON_HEADERS = [(b"content-type", b"application/json")]


class Interruption(enum.Enum):
    DISCONNECT = "disconnect"  # the client went away
    SHUTDOWN = "shutdown"  # the worker's graceful shutdown period is ending


# How long work runs before a task starts watching for the client's disconnect: work that
# ends sooner (an error, a short answer from a fast backend) never pays for that task, and a
# client that left is noticed at most this much later.
WATCH_AFTER = 0.005


async def until_interrupted(
    receive: Receive, work: Awaitable[T], shutdown: ShutdownSignal
) -> tuple[Interruption | None, T | None]:
    """Run `work` in this task unless the client disconnects or the shutdown signal comes
    first, which cancel it. Returns (what interrupted it or None, its result); work that
    finished wins a tie. A watcher task (for the client's disconnect message) starts once the
    work has run for WATCH_AFTER seconds; before that a timer is all it costs."""
    task = asyncio.current_task()
    assert task is not None
    reason: Interruption | None = None
    watcher: asyncio.Future[None] | None = None

    def interrupt(why: Interruption) -> None:
        nonlocal reason
        if reason is None:
            reason = why
            task.cancel()

    async def watch_disconnect() -> None:
        try:
            while (await receive())["type"] != "http.disconnect":
                pass
        except Exception:  # a receive channel that breaks is a client gone too
            pass
        interrupt(Interruption.DISCONNECT)

    def start_watching() -> None:
        nonlocal watcher
        watcher = asyncio.ensure_future(watch_disconnect())

    timer = asyncio.get_running_loop().call_later(WATCH_AFTER, start_watching)
    unsubscribe = shutdown.subscribe(lambda: interrupt(Interruption.SHUTDOWN))
    try:
        result = await work
    except asyncio.CancelledError:
        if reason is None:
            raise  # cancelled from outside (the server giving up): not ours to absorb
        task.uncancel()
        return reason, None
    finally:
        unsubscribe()
        timer.cancel()
        if watcher is not None:
            watcher.cancel()
    if reason is not None:  # the work absorbed the cancellation and returned anyway
        task.uncancel()
        return reason, None
    return None, result


class GenerationResponse:
    """`renderer.sse()` when `stream`, else `renderer.body()` as JSON: an ASGI app a route
    returns, which sends everything itself."""

    def __init__(
        self,
        generation: Generation,
        renderer: Renderer,
        *,
        stream: bool,
        shutdown: ShutdownSignal,
        keepalive: float = 0.0,
    ) -> None:
        self.generation = generation
        self.renderer = renderer
        self.stream = stream
        self.shutdown = shutdown
        self.keepalive = keepalive
        self.headers_sent = False
        self.extra_headers = [
            (k.encode(), v.encode())
            for k, v in ignored_params(generation.stats.ignored_params).items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        context = request_context(scope)
        context.generation = self.generation
        context.response_id = getattr(self.renderer, "id", None)  # for traces
        try:
            if self.shutdown.is_set():
                raise ServerShuttingDown()
            run = self._stream(scope, send) if self.stream else self._body(send)
            interruption, _ = await until_interrupted(receive, run, self.shutdown)
            if interruption is Interruption.DISCONNECT:
                self.generation.stats.disconnected = True
                if not self.headers_sent:  # for the log line and metrics only
                    await send({"type": "http.response.start", "status": CLIENT_CLOSED})
                    await send({"type": "http.response.body", "body": b""})
            elif interruption is Interruption.SHUTDOWN:
                if not self.headers_sent:
                    raise ServerShuttingDown()  # a 503 through the error handlers
                # Each event is one `send`, so the cancelled stream left no half-written one.
                await self._end_with_error(scope, send, ServerShuttingDown())
        finally:
            await self.generation.aclose()

    async def _start(self, send: Send, headers: list[tuple[bytes, bytes]]) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": headers + self.extra_headers}
        )
        self.headers_sent = True

    async def _stream(self, scope: Scope, send: Send) -> None:
        try:
            await self._start_keeping_alive(send)  # a slot and the first event
        except Exception as exc:
            if not self.headers_sent:
                raise  # a plain HTTP error through the error handlers
            await self._end_with_error(scope, send, exc)
            return
        if not self.headers_sent:
            await self._start(send, SSE_HEADERS)
        chunks: AsyncGenerator[bytes, None] = self.renderer.sse()
        try:
            async for chunk in chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except Exception as exc:
            if not isinstance(exc, APIError):
                log.exception("stream_failed")
            await self._end_with_error(scope, send, exc)
            return
        finally:
            await chunks.aclose()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _start_keeping_alive(self, send: Send) -> None:
        """`generation.start()`. When it takes longer than `keepalive` seconds (a queue, a
        long prompt being read), the headers go out and then the renderer's keep-alive (an SSE
        comment; Anthropic's `ping` event) every `keepalive` seconds, so proxies and load
        balancers with idle timeouts keep the stream. Clients' SSE parsers skip both.

        The wait runs in this task; only a wait that outlasts `keepalive` gets a second task
        (the pings), so a stream that starts in time costs one timer, not a task."""
        if not self.keepalive:
            await self.generation.start()
            return
        pinger: asyncio.Task[None] | None = None

        def start_pinging() -> None:
            nonlocal pinger
            pinger = asyncio.ensure_future(self._keep_alive(send))

        timer = asyncio.get_running_loop().call_later(self.keepalive, start_pinging)
        try:
            await self.generation.start()
        finally:
            timer.cancel()
            if pinger is not None:
                pinger.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pinger

    async def _keep_alive(self, send: Send) -> None:
        """The headers, then a keep-alive every `keepalive` seconds, until cancelled."""
        if not self.headers_sent:
            await self._start(send, SSE_HEADERS)
        while True:
            ping = self.renderer.keepalive
            await send({"type": "http.response.body", "body": ping, "more_body": True})
            await asyncio.sleep(self.keepalive)

    async def _body(self, send: Send) -> None:
        await self.generation.start()
        body = orjson.dumps(await self.renderer.body())
        length = [(b"content-length", str(len(body)).encode())]
        await self._start(send, JSON_HEADERS + length)
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _end_with_error(self, scope: Scope, send: Send, exc: BaseException) -> None:
        remember_error(scope, exc)
        message: Message = {"type": "http.response.body", "body": self.renderer.error_tail(exc)}
        await send({**message, "more_body": False})
