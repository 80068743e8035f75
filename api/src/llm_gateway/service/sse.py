"""Server-sent event framing, and the rule for errors once a stream has started."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import structlog

from ..errors import APIError, error_body, error_type_of
from .generation import GenerationStats

DONE = b"data: [DONE]\n\n"

log = structlog.get_logger("llm_gateway.stream")


def sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def error_events(exc: BaseException) -> bytes:
    """How a stream that already started ends on an error: the error object, then [DONE]."""
    return sse(error_body(exc)) + DONE


async def guard_stream(
    chunks: AsyncIterator[bytes], stats: GenerationStats | None = None
) -> AsyncIterator[bytes]:
    """Once headers are sent an error can't change the status: it becomes one
    `data: {"error": ...}` event followed by `data: [DONE]`, never a silently cut stream.
    The error's type goes to `stats` for the request's log line and metrics."""
    try:
        async for chunk in chunks:
            yield chunk
    except Exception as exc:
        if not isinstance(exc, APIError):
            log.exception("stream_failed")
        if stats is not None:
            stats.error_type = error_type_of(exc)
        yield error_events(exc)
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]
