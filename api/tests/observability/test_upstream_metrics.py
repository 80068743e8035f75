"""Per-upstream series: what a backend that forwards to other servers reports, through the
backends' `UpstreamMetrics` protocol, in the app's own registry."""

from __future__ import annotations

from prometheus_client import generate_latest

from llm_gateway.backends.metrics import NoUpstreamMetrics, UpstreamMetrics
from llm_gateway.backends.mock import MockBackend, MockSettings
from llm_gateway.observability.metrics import Metrics

from ..support.scrape import parse, value


def test_reports_become_per_upstream_series() -> None:
    metrics = Metrics(version="t")
    reports: UpstreamMetrics = metrics.upstreams  # the protocol, structurally
    reports.sent("a:8000")
    reports.sent("a:8000")
    reports.in_flight("a:8000", 1)
    reports.responded("a:8000", 0.02)
    reports.failed("a:8000", "http_5xx")
    reports.up("b:8000", False)
    seen = parse(generate_latest(metrics.registry).decode())
    assert value(seen, "llm_gateway_upstream_requests_total", upstream="a:8000") == 2
    assert value(seen, "llm_gateway_upstream_requests_in_flight", upstream="a:8000") == 1
    assert value(seen, "llm_gateway_upstream_latency_seconds_count", upstream="a:8000") == 1
    assert value(seen, "llm_gateway_upstream_errors_total", upstream="a:8000", kind="http_5xx") == 1
    assert value(seen, "llm_gateway_upstream_up", upstream="b:8000") == 0


def test_a_backend_reports_nowhere_until_the_app_attaches_its_metrics() -> None:
    backend = MockBackend(MockSettings())
    assert isinstance(backend.upstream_metrics, NoUpstreamMetrics)
    metrics = Metrics(version="t")
    backend.attach_metrics(metrics.upstreams)
    assert backend.upstream_metrics is metrics.upstreams
