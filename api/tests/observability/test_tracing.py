"""OpenTelemetry traces in one process, read with the SDK's in-memory exporter: the span tree
and GenAI attributes per API shape, an incoming traceparent continued, trace context passed
to the upstream, content only with LOG_CONTENT, ids on the log line; and a collector that
refuses connections costs nothing but dropped spans."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from llm_gateway import spans

from ..backends.openai.conftest import READ_TIMEOUT
from ..support.app import asgi_client, settings
from ..support.fake_upstream import answers, fake_upstream
from ..support.processes import free_port
from ..support.scrape import parse, value
from ..support.sse import sse_payloads
from .test_logging import captured, request_lines

CHAT = "/v1/chat/completions"
BODY = {
    "model": "mock-model",
    "messages": [{"role": "user", "content": "say something secret-prompt"}],
    "max_tokens": 3,
    "temperature": 0.5,
    "top_p": 0.9,
}
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    spans_seen = InMemorySpanExporter()
    yield spans_seen
    spans_seen.clear()


def by_name(finished: tuple[ReadableSpan, ...]) -> dict[str, ReadableSpan]:
    return {s.name: s for s in finished}


def children_of(parent: ReadableSpan, finished: tuple[ReadableSpan, ...]) -> list[str]:
    parent_id = parent.context.span_id
    return sorted(s.name for s in finished if s.parent and s.parent.span_id == parent_id)


async def test_a_chat_request_is_one_span_with_queue_and_generation_under_it(
    exporter: InMemorySpanExporter,
) -> None:
    async with asgi_client(span_exporter=exporter) as client:
        with captured() as logs:
            r = await client.post(CHAT, json=BODY)
    body = r.json()
    finished = exporter.get_finished_spans()
    spans_by_name = by_name(finished)
    root = spans_by_name["POST /v1/chat/completions"]
    assert root.kind is SpanKind.SERVER and root.parent is None
    assert children_of(root, finished) == ["chat mock-model", "queue"]
    generation = spans_by_name["chat mock-model"]
    attributes = dict(generation.attributes or {})
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == attributes["gen_ai.response.model"]
    assert attributes["gen_ai.usage.input_tokens"] == body["usage"]["prompt_tokens"]
    assert attributes["gen_ai.usage.output_tokens"] == body["usage"]["completion_tokens"] == 3
    assert attributes["gen_ai.request.max_tokens"] == 3
    assert attributes["gen_ai.request.temperature"] == 0.5
    assert attributes["gen_ai.request.top_p"] == 0.9
    assert attributes["gen_ai.response.finish_reasons"] == ("length",)
    assert attributes["gen_ai.response.id"] == body["id"]
    assert attributes["llm_gateway.queue_time_s"] >= 0
    assert attributes["llm_gateway.ttft_s"] >= 0
    assert [e.name for e in generation.events] == ["first_token"]
    queue = spans_by_name["queue"]
    assert queue.end_time is not None and generation.start_time is not None
    assert queue.end_time <= generation.start_time + 1000  # queue, then generation
    assert root.attributes is not None and root.attributes["http.response.status_code"] == 200
    # Content only with LOG_CONTENT.
    assert "secret-prompt" not in str([dict(s.attributes or {}) for s in finished])
    [line] = request_lines(logs)
    assert line["trace_id"] == format(root.context.trace_id, "032x")
    assert line["span_id"] == format(root.context.span_id, "016x")


@pytest.mark.parametrize(
    ("route", "body", "operation"),
    [
        ("/v1/chat/completions", {**BODY, "stream": True}, "chat"),
        (
            "/v1/completions",
            {"model": "mock-model", "prompt": "hi", "max_tokens": 2},
            "text_completion",
        ),
        ("/v1/responses", {"model": "mock-model", "input": "hi", "max_output_tokens": 16}, "chat"),
        (
            "/v1/messages",
            {"model": "mock-model", "max_tokens": 2, "messages": BODY["messages"]},
            "chat",
        ),
        ("/v1/embeddings", {"model": "mock-model", "input": "hi"}, "embeddings"),
    ],
)
async def test_every_api_shape_is_traced_with_its_operation(
    exporter: InMemorySpanExporter, route: str, body: dict[str, Any], operation: str
) -> None:
    async with asgi_client(span_exporter=exporter) as client:
        r = await client.post(route, json=body)
        assert r.status_code == 200, r.text
    finished = exporter.get_finished_spans()
    spans_by_name = by_name(finished)
    root = spans_by_name[f"POST {route}"]
    generation = spans_by_name[f"{operation} mock-model"]
    assert generation.parent is not None and generation.parent.span_id == root.context.span_id
    attributes = dict(generation.attributes or {})
    assert attributes["gen_ai.operation.name"] == operation
    assert attributes["gen_ai.usage.input_tokens"] > 0
    if operation != "embeddings":
        assert attributes["gen_ai.usage.output_tokens"] > 0
        assert attributes["gen_ai.response.finish_reasons"]


async def test_health_checks_and_scrapes_are_not_traced(exporter: InMemorySpanExporter) -> None:
    async with asgi_client(span_exporter=exporter) as client:
        for path in ("/health", "/ready", "/metrics", "/v1/models"):
            assert (await client.get(path)).status_code == 200
    assert [s.name for s in exporter.get_finished_spans()] == ["GET /v1/models"]


async def test_an_incoming_traceparent_is_continued(exporter: InMemorySpanExporter) -> None:
    traceparent = f"00-{TRACE_ID}-{PARENT_ID}-01"
    async with asgi_client(span_exporter=exporter) as client:
        await client.post(CHAT, json=BODY, headers={"traceparent": traceparent})
    root = by_name(exporter.get_finished_spans())["POST /v1/chat/completions"]
    assert format(root.context.trace_id, "032x") == TRACE_ID
    assert root.parent is not None and format(root.parent.span_id, "016x") == PARENT_ID


async def test_the_upstream_continues_the_trace_of_a_pass_through_request(
    exporter: InMemorySpanExporter,
) -> None:
    backend = {"upstream_read_timeout": READ_TIMEOUT, "upstream_connect_timeout": 2.0}
    with fake_upstream(answers("Hello", " there")) as up:
        backend["upstream_base_url"] = up.base_url
        s = settings(model_backend="openai")
        async with asgi_client(s, backend, span_exporter=exporter) as client:
            r = await client.post(CHAT, json={**BODY, "stream": True})
            assert r.status_code == 200 and sse_payloads(r.text)[-1] == "[DONE]"
    finished = exporter.get_finished_spans()
    root = by_name(finished)["POST /v1/chat/completions"]
    upstream_spans = [
        s for s in finished if s.kind is SpanKind.CLIENT and s.name.startswith("POST")
    ]
    assert len(upstream_spans) == 1
    upstream = upstream_spans[0]
    assert upstream.parent is not None and upstream.parent.span_id == root.context.span_id
    assert upstream.status.status_code is not StatusCode.ERROR
    sent = up.requests[0].headers["traceparent"]
    _, trace_id, parent_id, _ = sent.split("-")
    assert trace_id == format(root.context.trace_id, "032x")
    assert parent_id == format(upstream.context.span_id, "016x")


async def test_log_content_puts_prompt_and_output_on_the_generation_span(
    exporter: InMemorySpanExporter,
) -> None:
    async with asgi_client(settings(log_content=True), span_exporter=exporter) as client:
        r = await client.post(CHAT, json=BODY)
    generation = by_name(exporter.get_finished_spans())["chat mock-model"]
    attributes = dict(generation.attributes or {})
    assert "secret-prompt" in str(attributes["gen_ai.prompt"])
    assert r.json()["choices"][0]["message"]["content"] in str(attributes["gen_ai.completion"])


async def test_store_calls_are_spans_of_their_own(
    exporter: InMemorySpanExporter, tmp_path: Any
) -> None:
    s = settings(api_keys="alice:sk-a:tpd=1000", response_store=str(tmp_path / "s.db"))
    async with asgi_client(s, span_exporter=exporter) as client:
        await client.post(CHAT, json=BODY, headers={"authorization": "Bearer sk-a"})
    finished = exporter.get_finished_spans()
    root = by_name(finished)["POST /v1/chat/completions"]
    assert children_of(root, finished) == [
        "chat mock-model",
        "queue",
        "sqlite add_usage",
        "sqlite quota_state",
    ]
    assert root.attributes is not None and root.attributes["llm_gateway.key"] == "alice"


async def test_without_an_endpoint_nothing_is_traced() -> None:
    async with asgi_client() as client:
        assert client.app.state.tracing is None
        with captured() as logs:
            await client.post(CHAT, json=BODY)
    [line] = request_lines(logs)
    assert "trace_id" not in line
    assert spans.current_tracer() is None


async def test_a_collector_that_refuses_connections_costs_only_dropped_spans(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")  # seconds, per export (retries included)
    refused = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with asgi_client(settings(otel_exporter_otlp_endpoint=refused)) as client:
        for stream in (False, True, False):
            r = await client.post(CHAT, json={**BODY, "stream": stream})
            assert r.status_code == 200
        assert client.app.state.tracing is not None
        client.app.state.tracing.flush()  # the export is tried (and fails) now
        seen = parse((await client.get("/metrics")).text)
    assert value(seen, "llm_gateway_trace_spans_dropped_total") >= 9  # 3 spans a request
