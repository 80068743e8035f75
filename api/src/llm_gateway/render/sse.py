"""Server-sent event framing, and how a stream that already started ends on an error."""

from __future__ import annotations

from typing import Any

import orjson

from ..errors import api_error

DONE = b"data: [DONE]\n\n"
KEEPALIVE = b": ping\n\n"
"""An SSE comment: every SSE parser skips it; proxies see bytes on the connection."""


def sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def error_events(exc: BaseException) -> bytes:
    """Once headers are sent an error can't change the status: it becomes one
    `data: {"error": ...}` event followed by `data: [DONE]`, never a silently cut stream."""
    return sse(api_error(exc).body()) + DONE
