"""OpenAI-compatible servers on loopback that behave (or misbehave) as a test scripts them.

Each `FakeUpstream` runs an asyncio server in a thread of its own, so that sync tests (a real
gateway process in front) and async tests (the app in process) can both use it. A handler
gets one `Exchange` per request, answers it however it likes (or never), and the fake
records what it was asked and when a client hung up.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import orjson

from .processes import free_port

STEP = 10.0  # seconds a fake waits for anything at most, so nothing can hang a test


@dataclass
class Exchange:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    fake: FakeUpstream

    async def respond(
        self,
        status: int,
        body: bytes | dict[str, Any] | list[Any],
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        payload = body if isinstance(body, bytes) else orjson.dumps(body)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.writer.write(
            f"HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\n"
            f"content-length: {len(payload)}\r\n{extra}\r\n".encode()
            + payload
        )
        await self.writer.drain()

    async def start_stream(self, content_type: str = "text/event-stream") -> None:
        self.writer.write(
            f"HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\n"
            "transfer-encoding: chunked\r\n\r\n".encode()
        )
        await self.writer.drain()

    async def send(self, raw: bytes) -> None:
        """One HTTP chunk of the streamed body."""
        self.writer.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
        await self.writer.drain()

    async def event(self, data: dict[str, Any] | str) -> None:
        payload = data.encode() if isinstance(data, str) else orjson.dumps(data)
        await self.send(b"data: " + payload + b"\n\n")

    async def end_stream(self) -> None:
        self.writer.write(b"0\r\n\r\n")
        await self.writer.drain()

    def cut(self) -> None:
        """Drop the connection mid-response (no end of the chunked body)."""
        self.writer.transport.abort()

    async def until_client_leaves(self) -> bool:
        """True once the client closes its end (within STEP seconds)."""
        try:
            async with asyncio.timeout(STEP):
                while await self.reader.read(1024):
                    pass
        except TimeoutError:
            return False
        except ConnectionError:
            pass
        self.fake.client_left.set()
        return True

    async def wait_gate(self) -> None:
        """Until the test sets the fake's `gate` (at most STEP seconds)."""
        await asyncio.to_thread(self.fake.gate.wait, STEP)


Handler = Callable[[Exchange], Awaitable[None]]


@dataclass
class FakeUpstream:
    handler: Handler
    requests: list[Exchange] = field(default_factory=list)
    client_left: threading.Event = field(default_factory=threading.Event)
    """Set when a handler saw its client hang up (`until_client_leaves`)."""
    gate: threading.Event = field(default_factory=threading.Event)
    """For handlers that hold a response until the test lets it go (`wait_gate`)."""
    connections: int = 0
    """Connections clients opened (a client that keeps its connections alive opens one)."""
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._server = self._run(asyncio.start_server(self._serve, "127.0.0.1", 0)).result(STEP)
        self.port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.label = f"127.0.0.1:{self.port}"

    def _run(self, coro: Awaitable[Any]) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]

    @property
    def bodies(self) -> list[Any]:
        return [r.body for r in self.requests]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Requests on one connection, kept alive until the client or a handler ends it."""
        self.connections += 1
        self._writers.add(writer)
        try:
            while not writer.is_closing():
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *lines = head.decode().split("\r\n")
                method, path, _ = request_line.split(" ", 2)
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines if line)
                }
                raw = await reader.readexactly(int(headers.get("content-length", "0")))
                body = orjson.loads(raw) if raw else None
                exchange = Exchange(method, path, headers, body, reader, writer, self)
                self.requests.append(exchange)
                await self.handler(exchange)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    def close(self) -> None:
        async def stop() -> None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await self._server.wait_closed()

        with contextlib.suppress(Exception):
            self._run(stop()).result(STEP)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(STEP)


@contextlib.contextmanager
def fake_upstream(handler: Handler) -> Iterator[FakeUpstream]:
    upstream = FakeUpstream(handler)
    try:
        yield upstream
    finally:
        upstream.close()


def closed_port_url() -> str:
    """A loopback URL where nothing listens: connections are refused."""
    return f"http://127.0.0.1:{free_port()}/v1"


# --- canned answers ---------------------------------------------------------------------


def chunk(choices: list[dict[str, Any]], usage: dict[str, int] | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-upstream",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "upstream-model",
        "choices": choices,
        "usage": usage,
    }


def text_chunk(text: str, index: int = 0, finish: str | None = None) -> dict[str, Any]:
    return chunk([{"index": index, "delta": {"content": text}, "finish_reason": finish}])


def usage_chunk(prompt: int, completion: int, cached: int | None = None) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    return chunk([], usage)


def answers(*words: str, prompt_tokens: int = 3, cached_tokens: int | None = None) -> Handler:
    """A well-behaved upstream: streams `words` as chat chunks, then usage (with the cached
    prompt tokens, if given) and [DONE]."""

    async def handler(ex: Exchange) -> None:
        await ex.start_stream()
        await ex.event(chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}}]))
        for word in words:
            await ex.event(text_chunk(word))
        await ex.event(text_chunk("", finish="stop"))
        await ex.event(usage_chunk(prompt_tokens, len(words), cached_tokens))
        await ex.event("[DONE]")
        await ex.end_stream()

    return handler
