"""The floor for the gateway-overhead figures: a bare ASGI app, served by the same gunicorn
worker class and settings as the gateway, that answers a chat completion with bytes captured
from the gateway beforehand — the same body for a plain request, the same pre-encoded SSE
events (one `send` each) for a streaming one. It parses nothing and validates nothing.

BARE_BODY: file with the JSON body; BARE_EVENTS: file with the SSE stream (events end in a
blank line).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

BODY = Path(os.environ["BARE_BODY"]).read_bytes()
EVENTS = [e + b"\n\n" for e in Path(os.environ["BARE_EVENTS"]).read_bytes().split(b"\n\n") if e]
JSON_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BODY)).encode()),
]
SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if b'"stream":true' in body.replace(b" ", b""):
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
        for event in EVENTS:
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    await send({"type": "http.response.start", "status": 200, "headers": JSON_HEADERS})
    await send({"type": "http.response.body", "body": BODY})
