"""Reading the api's server-sent events: complete bodies, and lines as they arrive."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

DATA = "data: "


def sse_events(lines: Iterable[str]) -> Iterator[Any]:
    """Each event's payload as its line arrives, JSON-decoded except the final `[DONE]`. The
    api sends nothing but one `data:` line per event, each followed by a blank line; anything
    else fails."""
    expect_blank = False
    for line in lines:
        if expect_blank:
            assert line == "", f"an SSE event of more than one line: {line!r}"
            expect_blank = False
            continue
        if not line:
            continue
        assert line.startswith(DATA), f"not an SSE data line: {line!r}"
        data = line[len(DATA) :]
        yield data if data == "[DONE]" else json.loads(data)
        expect_blank = True


def sse_payloads(body: str) -> list[Any]:
    """Every payload of a whole SSE body (see `sse_events`)."""
    assert not body or body.endswith("\n\n"), f"the body ends mid-event: {body[-200:]!r}"
    return list(sse_events(body.split("\n")))
