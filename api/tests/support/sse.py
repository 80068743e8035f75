"""Reading the api's server-sent events: complete bodies, lines as they arrive, and a stream
read so as to show that it is not buffered."""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx

DATA = "data: "
KEEPALIVE = ": ping"


def sse_events(lines: Iterable[str]) -> Iterator[Any]:
    """Each event's payload as its line arrives, JSON-decoded except the final `[DONE]`. The
    api sends nothing but one `data:` line per event, each followed by a blank line, and the
    `: ping` comment of a stream kept alive before it starts; anything else fails."""
    expect_blank = False
    for line in lines:
        if expect_blank:
            assert line == "", f"an SSE event of more than one line: {line!r}"
            expect_blank = False
            continue
        if not line:
            continue
        if line == KEEPALIVE:  # a comment: the keep-alive of a stream waiting to start
            expect_blank = True
            continue
        assert line.startswith(DATA), f"not an SSE data line: {line!r}"
        data = line[len(DATA) :]
        yield data if data == "[DONE]" else json.loads(data)
        expect_blank = True


def sse_payloads(body: str) -> list[Any]:
    """Every payload of a whole SSE body (see `sse_events`)."""
    assert not body or body.endswith("\n\n"), f"the body ends mid-event: {body[-200:]!r}"
    return list(sse_events(body.split("\n")))


def carries_content(event: Any) -> bool:
    """A chat or text completion chunk with some generated text in it."""
    if not isinstance(event, dict):
        return False
    return any(
        (choice.get("delta") or {}).get("content") or choice.get("text")
        for choice in event.get("choices") or ()
    )


def read_unbuffered(
    response: httpx.Response, generating: Callable[[], bool], reads: int = 5
) -> list[Any]:
    """Every payload of a streaming response, read so as to show it is not buffered: after
    each of the first `reads` network reads that bring generated text, `generating()` (asked
    of the api itself) must still say this response is being generated. So text reached the
    client, in that many separate reads, before the server had produced the rest. Whatever
    the speed of either side: give it a stream that cannot end before these checks are done."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    events: list[Any] = []
    pending = ""
    checked = 0
    for raw in response.iter_raw():
        pending += decoder.decode(raw)
        *complete, pending = pending.split("\n\n")
        new = sse_payloads("".join(event + "\n\n" for event in complete))
        events += new
        if checked < reads and any(carries_content(event) for event in new):
            checked += 1
            assert generating(), (
                f"read {checked} brought text only once the api had finished: buffered?"
            )
    assert pending + decoder.decode(b"", final=True) == "", f"ends mid-event: {pending!r}"
    assert checked == reads, f"only {checked} reads brought text; {events[-3:]}"
    return events


def named_events(body: str) -> list[tuple[str | None, Any]]:
    """Every event of a whole SSE body whose events may be named (the Responses API sends
    `event: <type>` before each `data:` line): (the name or None, the JSON-decoded data)."""
    assert not body or body.endswith("\n\n"), f"the body ends mid-event: {body[-200:]!r}"
    out: list[tuple[str | None, Any]] = []
    for block in body.split("\n\n"):
        if not block:
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        assert set(fields) <= {"event", "data"}, f"an unexpected SSE field: {block!r}"
        data = fields["data"]
        out.append((fields.get("event"), data if data == "[DONE]" else json.loads(data)))
    return out
