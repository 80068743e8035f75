"""OpenTelemetry traces, off by default: `OTEL_EXPORTER_OTLP_ENDPOINT` turns them on.

One span per request (continuing an incoming W3C `traceparent`), with GenAI
semantic-convention attributes, and under it a `queue` span and a `chat {model}` generation
span. Those two are written once the response has ended, from the figures the generation
already keeps (its timestamps), so tracing adds no work to the token path. Spans made while
the request runs (an upstream call, a store call) come from `spans.child_span()`.

The app has its own `TracerProvider` (never the global one: two apps in one process stay
apart). Spans are exported by the SDK's batch processor from its own thread, so a slow or
down collector never blocks or fails a request; a batch it cannot take is dropped and counted
(`llm_gateway_trace_spans_dropped_total`). The standard `OTEL_*` variables the SDK reads
(`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`,
`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_BSP_*`, …) apply.
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, set_span_in_context
from starlette.datastructures import Headers

from ..spans import PROPAGATOR, TRACER_KEY

# What the Generation's figures and the request tell, by GenAI semantic-convention name.
OPERATION_BY_ROUTE = {
    "/v1/chat/completions": "chat",
    "/v1/completions": "text_completion",
    "/v1/responses": "chat",
    "/v1/messages": "chat",
    "/v1/embeddings": "embeddings",
}


class DropCountingExporter(SpanExporter):
    """The official exporter, with the spans of every batch it could not deliver counted."""

    def __init__(self, inner: SpanExporter, on_dropped: Callable[[int], None]) -> None:
        self.inner = inner
        self.on_dropped = on_dropped

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except Exception:
            result = SpanExportResult.FAILURE
        if result is not SpanExportResult.SUCCESS:
            self.on_dropped(len(spans))
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


def otlp_exporter(endpoint: str) -> SpanExporter:
    """OTLP over HTTP/protobuf to `endpoint`, the collector's base URL (the standard
    variable's meaning: `/v1/traces` is added)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")


def _ns(perf: float, offset_ns: int) -> int:
    return offset_ns + int(perf * 1e9)


class RequestTrace:
    """One request's span, current in the OpenTelemetry context while the app runs."""

    __slots__ = ("_token", "offset_ns", "span")

    def __init__(self, span: Span, token: object, offset_ns: int) -> None:
        self.span = span
        self._token = token
        self.offset_ns = offset_ns
        """Wall clock minus perf_counter, in ns: the figures' timestamps are perf_counter's."""

    @property
    def ids(self) -> dict[str, str]:
        ctx = self.span.get_span_context()
        return {"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")}

    def detach(self) -> None:
        otel_context.detach(self._token)  # type: ignore[arg-type]


class Tracing:
    def __init__(
        self,
        exporter: SpanExporter,
        *,
        service_name: str,
        version: str,
        on_dropped: Callable[[int], None],
        log_content: bool = False,
        batch: bool = True,
    ) -> None:
        """`batch`: export from the SDK's own thread (always, but for in-memory test
        exporters, which are simplest read synchronously)."""
        resource = Resource.create({"service.name": service_name, "service.version": version})
        self.provider = TracerProvider(resource=resource)
        counted = DropCountingExporter(exporter, on_dropped)
        processor = BatchSpanProcessor(counted) if batch else SimpleSpanProcessor(counted)
        self.provider.add_span_processor(processor)
        self.tracer = self.provider.get_tracer("llm_gateway", version)
        self.log_content = log_content

    def start(self, scope: MutableMapping[str, Any]) -> RequestTrace:
        """The request's span, continuing the caller's trace if it sent a `traceparent`."""
        headers = Headers(scope=scope)
        parent = PROPAGATOR.extract(headers)
        method = scope["method"]
        span = self.tracer.start_span(
            method,  # the route is known once the request has been routed (finish)
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope["path"]},
        )
        ctx = otel_context.set_value(TRACER_KEY, self.tracer, set_span_in_context(span, parent))
        token = otel_context.attach(ctx)
        return RequestTrace(span, token, time.time_ns() - time.perf_counter_ns())

    def finish(
        self,
        trace: RequestTrace,
        *,
        route: str,
        status: int,
        error_type: str | None,
        stats: Any,
        generation: Any,
        response_id: str | None,
        request_id: str,
        key_name: str | None,
    ) -> None:
        """Attributes from the request's figures, the queue and generation spans, and the
        end of the request's span (the caller has detached its context)."""
        span = trace.span
        span.update_name(f"{span.name} {route}")  # type: ignore[attr-defined]
        span.set_attribute("http.route", route)
        span.set_attribute("http.response.status_code", status)
        span.set_attribute("llm_gateway.request_id", request_id)
        if key_name is not None:
            span.set_attribute("llm_gateway.key", key_name)
        if error_type is not None:
            span.set_attribute("error.type", error_type)
        if status >= 500 or error_type is not None:
            span.set_status(Status(StatusCode.ERROR, error_type or str(status)))
        if stats is not None:
            self._generation_spans(trace, route, stats, generation, response_id)
        span.end()

    def _generation_spans(
        self, trace: RequestTrace, route: str, stats: Any, generation: Any, response_id: str | None
    ) -> None:
        span, offset = trace.span, trace.offset_ns
        operation = OPERATION_BY_ROUTE.get(route, "chat")
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "gen_ai.system": stats.backend,
            "gen_ai.request.model": stats.model,
            "gen_ai.response.model": stats.model,
            "gen_ai.usage.input_tokens": stats.prompt_tokens,
            "gen_ai.usage.output_tokens": stats.completion_tokens,
        }
        if response_id is not None:
            attributes["gen_ai.response.id"] = response_id
        if stats.finish_reasons:
            attributes["gen_ai.response.finish_reasons"] = list(stats.finish_reasons)
        if stats.queue_wait is not None:
            attributes["llm_gateway.queue_time_s"] = stats.queue_wait
        if stats.ttft is not None:
            attributes["llm_gateway.ttft_s"] = stats.ttft
        if generation is not None:
            attributes.update(request_attributes(generation))
        span.set_attributes(attributes)
        if stats.queue_wait is None:
            return  # refused before it ran (a full queue): no queue or generation to show
        parent = set_span_in_context(span)
        started = _ns(stats.started, offset)
        queue = self.tracer.start_span(
            "queue", context=parent, start_time=started - int(stats.queue_wait * 1e9)
        )
        queue.end(end_time=started)
        model_span = self.tracer.start_span(
            f"{operation} {stats.model}",
            context=parent,
            kind=SpanKind.CLIENT,
            start_time=started,
            attributes=attributes,
        )
        if stats.first_token_at is not None:
            model_span.add_event("first_token", timestamp=_ns(stats.first_token_at, offset))
        if self.log_content and generation is not None:
            transcript = generation.transcript()
            model_span.set_attribute("gen_ai.prompt", str(transcript["prompt"]))
            if transcript["output"] is not None:
                model_span.set_attribute("gen_ai.completion", str(transcript["output"]))
        finished = stats.finished_at if stats.finished_at is not None else time.perf_counter()
        model_span.end(end_time=_ns(finished, offset))

    def flush(self, timeout_millis: int = 5_000) -> bool:
        return self.provider.force_flush(timeout_millis)

    def shutdown(self) -> None:
        self.provider.shutdown()


def request_attributes(generation: Any) -> dict[str, Any]:
    """The sampling parameters a generation was asked for (its first choice's)."""
    out: dict[str, Any] = {}
    requests = getattr(generation, "requests", None)
    first = requests[0] if requests else None
    if first is None:
        return out
    for name, attribute in (
        ("max_tokens", "gen_ai.request.max_tokens"),
        ("temperature", "gen_ai.request.temperature"),
        ("top_p", "gen_ai.request.top_p"),
    ):
        value = getattr(first, name, None)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[attribute] = value
    return out
