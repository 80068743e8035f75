"""Request id, the canonical log line and request metrics: one observation per request.

The observation is made when the app returns, which for a stream is after its last byte was
sent (or the client went away), so it sees the whole response. Unhandled exceptions end here
too: logged once (on the canonical line) and answered with the OpenAI 500 body if nothing was
sent yet, instead of Starlette's ServerErrorMiddleware re-raising them to the server.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import structlog
from starlette.datastructures import Headers
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.contextvars import bind_contextvars, reset_contextvars

from ..client_address import TrustedProxies
from ..context import RequestContext, request_context
from ..errors import api_error
from ..http_errors import ANTHROPIC_PATHS, error_response
from ..observability.metrics import Metrics
from ..observability.request_id import HEADER, request_id_from

if TYPE_CHECKING:  # the OpenTelemetry SDK is imported only when tracing is on
    from ..observability.tracing import RequestTrace, Tracing

log = structlog.get_logger("llm_gateway.request")

# Probes and scrapes, every few seconds: traces of them would only bury the requests'.
UNTRACED_PATHS = frozenset({"/health", "/ready", "/metrics"})
OTHER_ROUTE = "other"  # unmatched paths share one label, so scanners can't add series


def route_of(scope: Scope, routes: Sequence[BaseRoute]) -> str:
    """The matched route's template (never the raw path). Responses sent before routing,
    such as a 413 for a declared body size, are matched here against the API's routes."""
    route = scope.get("route")
    if route is None:
        for candidate in routes:
            if candidate.matches(scope)[0] is not Match.NONE:
                route = candidate
                break
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else OTHER_ROUTE


class ObserveMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        routes: Sequence[BaseRoute],
        log_content: bool = False,
        trusted_proxies: TrustedProxies | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.app = app
        self.trusted_proxies = trusted_proxies or TrustedProxies()
        self.tracing = tracing
        self.metrics = metrics
        self.routes = routes
        self.log_content = log_content

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = request_id_from(Headers(scope=scope))
        id_headers = [(HEADER.encode(), request_id.encode())]
        if scope["path"].startswith(ANTHROPIC_PATHS):  # where Anthropic's SDKs read it
            id_headers.append((b"request-id", request_id.encode()))
        context = request_context(scope)
        context.request_id, context.started = request_id, start
        context.client = self.trusted_proxies.client_of(scope)
        status: int | None = None
        last_byte: float | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status, last_byte
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), *id_headers]}
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                last_byte = time.perf_counter()

        trace = None
        if self.tracing is not None and scope["path"] not in UNTRACED_PATHS:
            trace = self.tracing.start(scope)
        # What `bound_contextvars` does, without its context manager around it.
        bound = bind_contextvars(request_id=request_id)
        crash: Exception | None = None
        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            crash = exc
            if status is None:
                await error_response(api_error(exc), scope)(scope, receive, send_with_id)
        finally:
            # Arrival to last byte: work done after it (usage counted in the store)
            # is no part of what the client waited for.
            end = last_byte if last_byte is not None else time.perf_counter()
            if trace is not None:
                trace.detach()
            try:
                self._observe(scope, context, status, end - start, crash, trace)
            finally:
                reset_contextvars(**bound)

    def _observe(
        self,
        scope: Scope,
        context: RequestContext,
        status: int | None,
        duration: float,
        crash: Exception | None,
        trace: RequestTrace | None = None,
    ) -> None:
        generation = context.generation
        stats = context.figures
        error = crash or context.error
        client_error = api_error(error) if error is not None else None
        error_type = client_error.type if client_error else None
        status = status or 500  # nothing was sent: the task was cancelled mid-way
        route = route_of(scope, self.routes)
        self.metrics.observe_request(
            route=route,
            method=scope["method"],
            status=status,
            duration=duration,
            error_type=error_type,
            generation=stats,
            key_name=context.key_name,
        )
        fields: dict[str, Any] = {
            "method": scope["method"],
            "path": scope["path"],
            "client": context.client,
            "status": status,
            "key": context.key_name,
            "duration_ms": round(duration * 1000, 2),
            "model": stats.model if stats else None,
            "backend": stats.backend if stats else None,
            "prompt_tokens": stats.prompt_tokens if stats else None,
            "completion_tokens": stats.completion_tokens if stats else None,
            "ttft_ms": _ms(stats.ttft) if stats else None,
            "queue_ms": _ms(stats.queue_wait) if stats else None,
            "disconnected": bool(stats and stats.disconnected),
            "error_type": error_type,
            "error_code": client_error.code if client_error else None,
        }
        if self.log_content and generation is not None:
            fields.update(generation.transcript())
        if trace is not None and self.tracing is not None:
            fields.update(trace.ids)
            self.tracing.finish(
                trace,
                route=route,
                status=status,
                error_type=error_type,
                stats=stats,
                generation=generation,
                response_id=context.response_id,
                request_id=context.request_id,
                key_name=context.key_name,
            )
        if crash is not None:
            log.error("request", exc_info=crash, **fields)
        elif status >= 500:
            log.error("request", **fields)
        else:
            log.info("request", **fields)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)
