"""Server-sent events from an upstream response: the `data` of each event, as it arrives.

Works on the body's bytes as they come (no text decoding layers: the data of an OpenAI
stream is JSON, which orjson reads from bytes).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable

MAX_EVENT_BYTES = 16 * 1024 * 1024  # far above any chunk; a bound on what is buffered


class EventTooLong(ValueError):
    """An event (or a line) longer than MAX_EVENT_BYTES: not an OpenAI stream."""


async def sse_data(chunks: AsyncIterable[bytes]) -> AsyncGenerator[bytes, None]:
    """Each event's data (its `data:` lines joined by newlines), per the SSE specification:
    lines end in LF, CRLF or CR; a blank line ends an event; `:` lines are comments; other
    fields (`event`, `id`, `retry`) are ignored. An event the stream ends without its blank
    line still counts."""
    data: list[bytes] = []
    size = 0  # of `data`
    partial = b""  # the start of a line whose end has not arrived
    async for chunk in chunks:
        text = partial + chunk
        if b"\r" in text:
            held = b"\r" if text.endswith(b"\r") else b""  # maybe the first half of CRLF
            text = text[: len(text) - len(held)].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        else:
            held = b""
        lines = text.split(b"\n")
        partial = lines.pop() + held
        for line in lines:
            if line:
                value = _data(line)
                if value is not None:
                    data.append(value)
                    size += len(value)
            elif data:
                yield b"\n".join(data)
                data, size = [], 0
        if size + len(partial) > MAX_EVENT_BYTES:
            raise EventTooLong(f"an event over {MAX_EVENT_BYTES} bytes")
    last = _data(partial.rstrip(b"\r"))
    if last is not None:
        data.append(last)
    if data:
        yield b"\n".join(data)


def _data(line: bytes) -> bytes | None:
    """The value of a `data` line; None for other fields and comments (`:` lines)."""
    if line.startswith(b"data: "):  # nearly every line
        return line[6:]
    name, _, value = line.partition(b":")
    if name != b"data":
        return None
    return value[1:] if value.startswith(b" ") else value
