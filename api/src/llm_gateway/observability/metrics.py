"""Prometheus metrics: definitions per app, exposition aggregated across gunicorn workers.

Every app owns a `CollectorRegistry` for its metric definitions, so two apps in one process
never share a series. Under gunicorn, PROMETHEUS_MULTIPROC_DIR is set before prometheus_client
is imported; values then live in per-process files there and a scrape merges them with a
fresh `MultiProcessCollector`. Without it, the app's own registry is exposed directly.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from ..compat.prometheus import writes_multiprocess_values

PREFIX = "llm_gateway_"

# Buckets as in vLLM's metrics, so dashboards for either read the same way.
TTFT_BUCKETS = (
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75,
    1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
)  # fmt: skip
TPOT_BUCKETS = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75,
    1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
)  # fmt: skip
REQUEST_LATENCY_BUCKETS = (
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0,
    40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0,
)  # fmt: skip

# The gateway's own share of a request: sub-millisecond to a second.
OVERHEAD_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
)  # fmt: skip


class GenerationRecord(Protocol):
    """What the metrics read from a finished generation (the service's GenerationStats)."""

    model: str
    queue_wait: float | None
    started: float
    first_token_at: float | None
    finished_at: float | None
    prompt_tokens: int
    cached_tokens: int | None
    completion_tokens: int
    disconnected: bool

    @property
    def ttft(self) -> float | None: ...


def multiprocess_dir() -> str | None:
    """The directory to aggregate from, if prometheus_client really writes values there
    (it decides once, at import, from the environment)."""
    if writes_multiprocess_values():
        return os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return None


class UpstreamSeries:
    """Per-upstream series for backends that forward to other servers (the backends'
    `UpstreamMetrics` protocol). Labels are upstreams from the configuration (`host:port`),
    so the number of series stays bounded."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self._requests = Counter(
            PREFIX + "upstream_requests",
            "Requests sent to each upstream server (every attempt, failovers included).",
            ["upstream"],
            registry=r,
        )
        self._errors = Counter(
            PREFIX + "upstream_errors",
            "Failed upstream requests by kind: connect, timeout, http_4xx, http_5xx, "
            "error_event, bad_response.",
            ["upstream", "kind"],
            registry=r,
        )
        self._latency = Histogram(
            PREFIX + "upstream_latency_seconds",
            "Time from sending a request to the upstream's response headers.",
            ["upstream"],
            buckets=TTFT_BUCKETS,
            registry=r,
        )
        self._in_flight = Gauge(
            PREFIX + "upstream_requests_in_flight",
            "Requests open on each upstream, summed over live workers.",
            ["upstream"],
            multiprocess_mode="livesum",
            registry=r,
        )
        self._up = Gauge(
            PREFIX + "upstream_up",
            "1 while an upstream is taken, 0 while it is skipped for a cool-down after a "
            "connection failure or timeout (the latest report of any live worker).",
            ["upstream"],
            multiprocess_mode="livemostrecent",
            registry=r,
        )

    def sent(self, upstream: str) -> None:
        self._requests.labels(upstream).inc()

    def in_flight(self, upstream: str, count: int) -> None:
        self._in_flight.labels(upstream).set(count)

    def responded(self, upstream: str, seconds: float) -> None:
        self._latency.labels(upstream).observe(seconds)

    def failed(self, upstream: str, kind: str) -> None:
        self._errors.labels(upstream, kind).inc()

    def up(self, upstream: str, is_up: bool) -> None:
        self._up.labels(upstream).set(1 if is_up else 0)


class KeySeries:
    """Per-API-key-name series: names come from the configured keys (`open` without keys),
    so the number of series is bounded by the number of keys; no secret is ever a label."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self._requests = Counter(
            PREFIX + "key_requests",
            "Requests made with each API key name (health checks and /metrics left out).",
            ["key"],
            registry=r,
        )
        self._prompt = Counter(
            PREFIX + "key_prompt_tokens",
            "Prompt tokens used by each key name.",
            ["key"],
            registry=r,
        )
        self._completion = Counter(
            PREFIX + "key_completion_tokens",
            "Completion tokens used by each key name.",
            ["key"],
            registry=r,
        )
        self._refusals = Counter(
            PREFIX + "key_refusals",
            "Requests of each key name answered 429, by error type (insufficient_quota: its "
            "token budget is spent; rate_limit_exceeded: too many requests).",
            ["key", "type"],
            registry=r,
        )
        self._quota = Gauge(
            PREFIX + "key_quota",
            "Each key name's configured quota: kind tokens_per_day or requests_per_minute.",
            ["key", "kind"],
            multiprocess_mode="max",
            registry=r,
        )
        self.store_errors = Counter(
            PREFIX + "store_errors",
            "Failed calls to the shared store by operation (quotas fail open meanwhile).",
            ["operation"],
            registry=r,
        )
        self._children: dict[str, tuple[Any, Any, Any]] = {}

    def start_at_zero(self, keys: list[str], store_operations: tuple[str, ...]) -> None:
        """Every configured key's and store operation's series from the start, at 0, so
        rates and alerts see them before the first request or failure."""
        for key in keys:
            self._children[key] = (
                self._requests.labels(key),
                self._prompt.labels(key),
                self._completion.labels(key),
            )
        for operation in store_operations:
            self.store_errors.labels(operation)

    def quota(self, key: str, kind: str, limit: int) -> None:
        self._quota.labels(key, kind).set(limit)

    def store_failed(self, operation: str) -> None:
        self.store_errors.labels(operation).inc()

    def observe(
        self, key: str, status: int, error_type: str | None, generation: GenerationRecord | None
    ) -> None:
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self._requests.labels(key),
                self._prompt.labels(key),
                self._completion.labels(key),
            )
        requests, prompt, completion = children
        requests.inc()
        if status == 429 and error_type is not None:
            self._refusals.labels(key, error_type).inc()
        if generation is not None:
            if generation.prompt_tokens:
                prompt.inc(generation.prompt_tokens)
            if generation.completion_tokens:
                completion.inc(generation.completion_tokens)


class _ModelSeries(NamedTuple):
    """One served model's request series (label children, looked up once)."""

    e2e_latency: Any
    queue_time: Any
    ttft: Any
    tpot: Any
    overhead: Any
    prompt_tokens: Any
    cached_tokens: Any
    generation_tokens: Any
    disconnects: Any


class Metrics:
    def __init__(self, *, version: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.version = version
        self._per_model: dict[str, _ModelSeries] = {}
        self._per_route: dict[tuple[str, str, int], Any] = {}
        self._multiprocess_dir = multiprocess_dir()
        r = self.registry
        self.requests = Counter(
            PREFIX + "requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.errors = Counter(
            PREFIX + "request_errors",
            "Requests that ended in an OpenAI error, by error type (also mid-stream errors).",
            ["type"],
            registry=r,
        )
        self.e2e_latency = Histogram(
            PREFIX + "e2e_request_latency_seconds",
            "End-to-end latency of generation requests, arrival to last byte.",
            ["model"],
            buckets=REQUEST_LATENCY_BUCKETS,
            registry=r,
        )
        self.queue_time = Histogram(
            PREFIX + "request_queue_time_seconds",
            "Time generation requests waited for a free slot.",
            ["model"],
            buckets=REQUEST_LATENCY_BUCKETS,
            registry=r,
        )
        self.ttft = Histogram(
            PREFIX + "time_to_first_token_seconds",
            "Time from taking a slot to the first output token.",
            ["model"],
            buckets=TTFT_BUCKETS,
            registry=r,
        )
        self.tpot = Histogram(
            PREFIX + "request_time_per_output_token_seconds",
            "Mean inter-token latency of a request: (last - first token time) / (tokens - 1).",
            ["model"],
            buckets=TPOT_BUCKETS,
            registry=r,
        )
        self.overhead = Histogram(
            PREFIX + "request_overhead_seconds",
            "Time the gateway itself adds to a generation request: end to end minus the "
            "queue wait and the backend's own time (parsing, translating, rendering, sending).",
            ["model"],
            buckets=OVERHEAD_BUCKETS,
            registry=r,
        )
        self.prompt_tokens = Counter(
            PREFIX + "prompt_tokens", "Prompt tokens processed.", ["model"], registry=r
        )
        self.cached_tokens = Counter(
            PREFIX + "prompt_tokens_cached",
            "Of the prompt tokens, those the backend took from its cache instead of evaluating "
            "them (a prefix a slot still held, restored from host memory, or copied); divided "
            "by prompt_tokens: the prefix cache's hit rate.",
            ["model"],
            registry=r,
        )
        self.generation_tokens = Counter(
            PREFIX + "generation_tokens",
            "Completion tokens generated.",
            ["model"],
            registry=r,
        )
        self.disconnects = Counter(
            PREFIX + "client_disconnects",
            "Generation requests whose client went away before the response ended.",
            ["model"],
            registry=r,
        )
        self._running = Gauge(
            PREFIX + "num_requests_running",
            "Generations holding a slot, summed over live workers.",
            ["model"],
            multiprocess_mode="livesum",
            registry=r,
        )
        self._waiting = Gauge(
            PREFIX + "num_requests_waiting",
            "Generations queued for a slot, summed over live workers.",
            ["model"],
            multiprocess_mode="livesum",
            registry=r,
        )
        self._build_info = Gauge(
            PREFIX + "build_info",
            "Always 1; the labels say what is running.",
            ["version", "backend", "model"],
            multiprocess_mode="max",
            registry=r,
        )
        self.spans_dropped = Counter(
            PREFIX + "trace_spans_dropped",
            "Spans the trace exporter could not deliver (collector down or refusing).",
            registry=r,
        )
        self.upstreams = UpstreamSeries(r)
        self.keys = KeySeries(r)

    def add_model(self, model: str, backend: str) -> Callable[[int, int], None]:
        """Announce a served model; returns what its slots call on every change (the
        running/waiting gauges, so each worker's file is current)."""
        self._build_info.labels(self.version, backend, model).set(1)
        running, waiting = self._running.labels(model), self._waiting.labels(model)
        # The last values written: a gauge is written only when it changed (in multiprocess
        # mode every write is a locked write to the worker's file; the queue is mostly empty).
        last = [0, 0]

        def track_slots(now_running: int, now_waiting: int) -> None:
            if now_running != last[0]:
                running.set(now_running)
                last[0] = now_running
            if now_waiting != last[1]:
                waiting.set(now_waiting)
                last[1] = now_waiting

        running.set(0)
        waiting.set(0)
        return track_slots

    def _model_series(self, model: str) -> _ModelSeries:
        series = self._per_model.get(model)
        if series is None:
            series = self._per_model[model] = _ModelSeries(
                e2e_latency=self.e2e_latency.labels(model),
                queue_time=self.queue_time.labels(model),
                ttft=self.ttft.labels(model),
                tpot=self.tpot.labels(model),
                overhead=self.overhead.labels(model),
                prompt_tokens=self.prompt_tokens.labels(model),
                cached_tokens=self.cached_tokens.labels(model),
                generation_tokens=self.generation_tokens.labels(model),
                disconnects=self.disconnects.labels(model),
            )
        return series

    def observe_request(
        self,
        *,
        route: str,
        method: str,
        status: int,
        duration: float,
        error_type: str | None,
        generation: GenerationRecord | None,
        key_name: str | None = None,
    ) -> None:
        """Once per request, when its response has really finished (streams included). Label
        children are looked up once and kept: every label value here is bounded (route
        templates, methods, statuses, error types, served model ids)."""
        key = (route, method, status)
        counter = self._per_route.get(key)
        if counter is None:
            counter = self._per_route[key] = self.requests.labels(route, method, str(status))
        counter.inc()
        if error_type is not None:
            self.errors.labels(error_type).inc()
        if key_name is not None:
            self.keys.observe(key_name, status, error_type, generation)
        if generation is None:
            return
        series = self._model_series(generation.model)
        if generation.queue_wait is not None:  # it ran; refusals (429) have no latency
            series.e2e_latency.observe(duration)
            series.queue_time.observe(generation.queue_wait)
            if generation.finished_at is not None:
                backend = generation.finished_at - generation.started
                series.overhead.observe(max(0.0, duration - generation.queue_wait - backend))
        ttft = generation.ttft
        if ttft is not None:
            series.ttft.observe(ttft)
        first, last, tokens = (
            generation.first_token_at,
            generation.finished_at,
            generation.completion_tokens,
        )
        if tokens > 1 and first is not None and last is not None:
            series.tpot.observe((last - first) / (tokens - 1))
        if generation.prompt_tokens:
            series.prompt_tokens.inc(generation.prompt_tokens)
        if generation.cached_tokens:
            series.cached_tokens.inc(generation.cached_tokens)
        if tokens:
            series.generation_tokens.inc(tokens)
        if generation.disconnected:
            series.disconnects.inc()

    def render(self) -> bytes:
        """Prometheus text format; reads the workers' files in multiprocess mode (blocking)."""
        if self._multiprocess_dir is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self._multiprocess_dir)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
