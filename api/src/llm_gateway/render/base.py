"""What every renderer offers the response that sends it."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, Protocol


class Renderer(Protocol):
    keepalive: bytes
    """Sent while a stream waits for its first event (proxies' idle timeouts): an SSE
    comment, or the API's own keep-alive event."""

    def sse(self) -> AsyncGenerator[bytes, None]:
        """Every event of the stream as framed SSE bytes, `data: [DONE]` last."""
        ...

    async def body(self) -> dict[str, Any]:
        """The whole response body."""
        ...

    def error_tail(self, exc: BaseException) -> bytes:
        """How the stream ends when it fails after it began (the status is already sent)."""
        ...


def cached_tokens(usage: dict[str, Any]) -> int:
    """The prompt tokens an OpenAI usage object says came from the backend's cache (0 when
    it does not say): what the Responses and Messages shapes report under their own names."""
    details: dict[str, int] = usage.get("prompt_tokens_details") or {}
    return details.get("cached_tokens", 0)
