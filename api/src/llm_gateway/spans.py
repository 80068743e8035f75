"""What every layer may use of tracing: the request's tracer, carried in OpenTelemetry's
context by the observe middleware while tracing is on, and `child_span()` around work worth
a span of its own (an upstream call, a store call).

With tracing off nothing is in the context, and `child_span()` costs one context lookup and
yields None. Only OpenTelemetry's API is used here (the SDK is the app's business,
`observability/tracing.py`), so backends and the store can use it without knowing the app.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, MutableMapping

from opentelemetry import context as otel_context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, set_span_in_context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACER_KEY = otel_context.create_key("llm_gateway.tracer")
PROPAGATOR = TraceContextTextMapPropagator()


def current_tracer() -> Tracer | None:
    tracer = otel_context.get_value(TRACER_KEY)
    return tracer if isinstance(tracer, Tracer) else None


@contextlib.contextmanager
def child_span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, str | int | float | bool] | None = None,
    carrier: MutableMapping[str, str] | None = None,
) -> Iterator[Span | None]:
    """A span under the request's, when tracing is on (else None). `carrier`: headers that
    get this span's W3C `traceparent`, so the server they go to continues the trace. An
    exception leaving the block marks the span as an error."""
    tracer = current_tracer()
    if tracer is None:
        yield None
        return
    # Not made the current span: an upstream call's block spans the tasks that stream the
    # response, and a context attached in one task cannot be detached in another.
    span = tracer.start_span(name, kind=kind, attributes=attributes)
    if carrier is not None:
        PROPAGATOR.inject(carrier, context=set_span_in_context(span))
    try:
        yield span
    except Exception as exc:
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        raise
    finally:
        span.end()


def failed(span: Span | None, description: str) -> None:
    """Mark a span as failed for a reason that raised nothing out of its block."""
    if span is not None:
        span.set_status(Status(StatusCode.ERROR, description))
