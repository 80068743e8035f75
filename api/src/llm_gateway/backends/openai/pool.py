"""Upstreams, picked by least in-flight requests, and failover: an upstream that refuses
connections or times out before its first byte is skipped for a cool-down and the request
goes to the next one. Once an upstream has started answering, nothing is retried."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import structlog
from opentelemetry.trace import SpanKind

from ...errors import APIError, GatewayTimeout, UpstreamError
from ...spans import child_span, failed
from ..metrics import UpstreamErrorKind, UpstreamMetrics
from . import upstream_errors

log = structlog.get_logger("llm_gateway.backends.openai")

# Uncompressed: a token must not wait in a compressor's buffer on the way.
REQUEST_HEADERS = {"content-type": "application/json", "accept-encoding": "identity"}
MAX_ERROR_BODY = 65_536  # an error body longer than this is not an OpenAI error object


@dataclass(eq=False, slots=True)
class Upstream:
    base_url: str
    label: str
    """`host:port` (a bounded metrics label, safe to show clients)."""
    in_flight: int = 0
    down_until: float = 0.0


def labels(urls: list[str]) -> list[str]:
    """`host:port` of each URL; with the path too where two share a host and port."""

    def host_port(url: str) -> str:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
        return f"{host}:{port}"

    plain = [host_port(u) for u in urls]
    return [
        p if plain.count(p) == 1 else p + urlsplit(u).path for p, u in zip(plain, urls, strict=True)
    ]


def _kind(exc: APIError) -> UpstreamErrorKind:
    """What went wrong once a response had begun."""
    if isinstance(exc, GatewayTimeout):
        return "timeout"
    if isinstance(exc, UpstreamError):
        return "error_event"
    return "bad_response"


class UpstreamPool:
    def __init__(
        self,
        urls: list[str],
        *,
        cooldown: float,
        metrics: UpstreamMetrics,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.upstreams = [Upstream(u, label) for u, label in zip(urls, labels(urls), strict=True)]
        self.cooldown = cooldown
        self.metrics = metrics
        self._clock = clock
        self._turn = 0
        for upstream in self.upstreams:
            metrics.up(upstream.label, True)

    def pick(self, tried: set[Upstream]) -> Upstream | None:
        """The upstream with the fewest requests in flight among those not cooling down
        (ties taken in turn); when every one left is cooling down, the one back soonest;
        None once each has been tried."""
        left = [u for u in self.upstreams if u not in tried]
        if not left:
            return None
        now = self._clock()
        healthy = [u for u in left if u.down_until <= now]
        if not healthy:
            return min(left, key=lambda u: u.down_until)
        self._turn = (self._turn + 1) % len(healthy)
        rotated = healthy[self._turn :] + healthy[: self._turn]
        return min(rotated, key=lambda u: u.in_flight)

    def mark_down(self, upstream: Upstream, kind: UpstreamErrorKind, exc: Exception) -> None:
        upstream.down_until = self._clock() + self.cooldown
        self.metrics.failed(upstream.label, kind)
        self.metrics.up(upstream.label, False)
        log.warning(
            "upstream_failed",
            upstream=upstream.label,
            kind=kind,
            error=repr(exc),
            cooldown_s=self.cooldown,
        )

    def _count(self, upstream: Upstream, change: int) -> None:
        upstream.in_flight += change
        self.metrics.in_flight(upstream.label, upstream.in_flight)

    @contextlib.asynccontextmanager
    async def post(
        self, client: httpx.AsyncClient, path: str, body: dict[str, Any]
    ) -> AsyncIterator[tuple[Upstream, httpx.Response]]:
        """POST `body` to `path` on an upstream; yields it and its successful response, body
        unread. Errors become the client's: the upstream's own OpenAI error, or 502/504.
        Failures inside the block are reported against the upstream that answered."""
        content = orjson.dumps(body)
        tried: set[Upstream] = set()
        failure: APIError | None = None
        while (upstream := self.pick(tried)) is not None:
            tried.add(upstream)
            carrier: dict[str, str] = {}
            # The upstream continues this request's trace (when tracing is on).
            with child_span(
                f"POST {path}",
                kind=SpanKind.CLIENT,
                attributes={"server.address": upstream.label, "url.path": path},
                carrier=carrier,
            ) as span:
                request = client.build_request(
                    "POST",
                    upstream.base_url + path,
                    content=content,
                    headers={**REQUEST_HEADERS, **carrier} if carrier else REQUEST_HEADERS,
                )
                self.metrics.sent(upstream.label)
                self._count(upstream, +1)
                try:
                    sent = time.perf_counter()
                    try:
                        response = await client.send(request, stream=True)
                    except httpx.TimeoutException as exc:
                        self.mark_down(upstream, "timeout", exc)
                        failed(span, "timeout")
                        failure = upstream_errors.timed_out(upstream.label)
                        continue
                    except httpx.TransportError as exc:
                        self.mark_down(upstream, "connect", exc)
                        failed(span, "connect")
                        failure = upstream_errors.unavailable(upstream.label)
                        continue
                    self.metrics.responded(upstream.label, time.perf_counter() - sent)
                    if upstream.down_until:
                        upstream.down_until = 0.0
                        self.metrics.up(upstream.label, True)
                    try:
                        if not 200 <= response.status_code < 300:
                            kind, error = await self._refusal(upstream, response)
                            self.metrics.failed(upstream.label, kind)
                            raise error
                        try:
                            yield upstream, response
                        except httpx.RequestError as exc:
                            error = upstream_errors.from_transport(upstream.label, exc)
                            self.metrics.failed(upstream.label, _kind(error))
                            raise error from None
                        except APIError as exc:
                            self.metrics.failed(upstream.label, _kind(exc))
                            raise
                    finally:
                        await response.aclose()
                    return
                finally:
                    self._count(upstream, -1)
        assert failure is not None
        raise failure

    @staticmethod
    async def _refusal(
        upstream: Upstream, response: httpx.Response
    ) -> tuple[UpstreamErrorKind, APIError]:
        """The client's error for a response that is not a success."""
        status = response.status_code
        if status < 400:
            return "bad_response", upstream_errors.bad_response(upstream.label, f"status {status}")
        kind: UpstreamErrorKind = "http_4xx" if status < 500 else "http_5xx"
        payload = b""
        try:
            async for piece in response.aiter_bytes():
                payload += piece
                if len(payload) > MAX_ERROR_BODY:
                    break
        except httpx.RequestError as exc:
            return kind, upstream_errors.from_transport(upstream.label, exc)
        return kind, upstream_errors.from_error_body(
            upstream.label, status, payload, response.headers
        )
