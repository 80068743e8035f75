"""Generates grafana/llm-gateway.json, the llm-gateway dashboard, with Grafana's official
foundation SDK (`make dashboard`; api/tests/test_monitoring.py checks the JSON is current and
that every metric it queries is one the api exposes).

Rows: what vLLM's dashboard shows (latency, TTFT, inter-token latency, queue time, token
throughput, scheduler state, finish reasons as errors), then the gateway's own: requests and
errors by route and status, its overhead, per-key usage and quotas, upstream health, the
store and tracing. Import the JSON in Grafana (Dashboards → New → Import) and pick the
Prometheus data source.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

OUT = Path(__file__).parent / "grafana" / "llm-gateway.json"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
RATE = "$__rate_interval"


def query(expr: str, legend: str) -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(expr).legend_format(legend)


def quantiles(metric: str, by: str = "model") -> list[prometheus.Dataquery]:
    """p50, p95 and p99 of a histogram, per `by`."""
    return [
        query(
            f"histogram_quantile({q}, sum by (le, {by}) (rate({metric}_bucket[{RATE}])))",
            f"p{int(q * 100)} {{{{{by}}}}}",
        )
        for q in (0.5, 0.95, 0.99)
    ]


def graph(
    title: str, unit: str, targets: list[prometheus.Dataquery], description: str = ""
) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).unit(unit).datasource(DATASOURCE).height(8).span(12)
    if description:
        panel = panel.description(description)
    for ref, target in zip("ABCDEFGH", targets, strict=False):
        panel = panel.with_target(target.ref_id(ref))
    return panel


def single(title: str, unit: str, expr: str) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .unit(unit)
        .datasource(DATASOURCE)
        .height(4)
        .span(6)
        .with_target(query(expr, title).ref_id("A"))
    )


def build() -> dashboard.Dashboard:
    return (
        dashboard.Dashboard("llm-gateway")
        .uid("llm-gateway")
        .tags(["llm-gateway", "llm"])
        .refresh("30s")
        .time("now-1h", "now")
        .timezone("browser")
        .with_variable(
            dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus")
        )
        .with_row(dashboard.Row("Overview"))
        .with_panel(single("Requests / s", "reqps", "sum(rate(llm_gateway_requests_total[5m]))"))
        .with_panel(single("5xx ratio", "percentunit", "llm_gateway:request_error_ratio:rate5m"))
        .with_panel(single("Running", "short", "sum(llm_gateway_num_requests_running)"))
        .with_panel(single("Waiting", "short", "sum(llm_gateway_num_requests_waiting)"))
        .with_row(dashboard.Row("Latency (as vLLM's dashboard)"))
        .with_panel(
            graph(
                "End-to-end request latency",
                "s",
                quantiles("llm_gateway_e2e_request_latency_seconds"),
            )
        )
        .with_panel(
            graph(
                "Time to first token",
                "s",
                quantiles("llm_gateway_time_to_first_token_seconds"),
            )
        )
        .with_panel(
            graph(
                "Inter-token latency",
                "s",
                quantiles("llm_gateway_request_time_per_output_token_seconds"),
            )
        )
        .with_panel(graph("Queue time", "s", quantiles("llm_gateway_request_queue_time_seconds")))
        .with_row(dashboard.Row("Tokens and scheduler"))
        .with_panel(
            graph(
                "Token throughput",
                "short",
                [
                    query(
                        f"sum by (model) (rate(llm_gateway_prompt_tokens_total[{RATE}]))",
                        "prompt {{model}}",
                    ),
                    query(
                        f"sum by (model) (rate(llm_gateway_generation_tokens_total[{RATE}]))",
                        "generation {{model}}",
                    ),
                    query(
                        f"sum by (model) (rate(llm_gateway_prompt_tokens_cached_total[{RATE}]))",
                        "prompt from cache {{model}}",
                    ),
                ],
                "Tokens per second; prompt tokens from cache: not evaluated (a slot's prefix, "
                "the host KV cache, a copy).",
            )
        )
        .with_panel(
            graph(
                "Scheduler state",
                "short",
                [
                    query(
                        "sum by (model) (llm_gateway_num_requests_running)",
                        "running {{model}}",
                    ),
                    query(
                        "sum by (model) (llm_gateway_num_requests_waiting)",
                        "waiting {{model}}",
                    ),
                    query(
                        f"sum by (model) (rate(llm_gateway_client_disconnects_total[{RATE}]))",
                        "disconnects/s {{model}}",
                    ),
                ],
            )
        )
        .with_row(dashboard.Row("Requests and errors"))
        .with_panel(
            graph(
                "Requests by route and status",
                "reqps",
                [
                    query(
                        f"sum by (route, status) (rate(llm_gateway_requests_total[{RATE}]))",
                        "{{route}} {{status}}",
                    )
                ],
            )
        )
        .with_panel(
            graph(
                "Errors by type",
                "reqps",
                [
                    query(
                        f"sum by (type) (rate(llm_gateway_request_errors_total[{RATE}]))",
                        "{{type}}",
                    )
                ],
            )
        )
        .with_row(dashboard.Row("The gateway's own overhead"))
        .with_panel(
            graph(
                "Overhead (end to end minus queue and backend)",
                "s",
                quantiles("llm_gateway_request_overhead_seconds"),
                "What parsing, translating, rendering and sending cost per request.",
            )
        )
        .with_row(dashboard.Row("Per-key usage and quotas"))
        .with_panel(
            graph(
                "Tokens by key",
                "short",
                [
                    query(
                        f"sum by (key) (rate(llm_gateway_key_prompt_tokens_total[{RATE}]) "
                        f"+ rate(llm_gateway_key_completion_tokens_total[{RATE}]))",
                        "{{key}}",
                    )
                ],
                "Prompt + completion tokens per second, by API key name.",
            )
        )
        .with_panel(
            graph(
                "Daily token budget used",
                "percentunit",
                [query("llm_gateway:key_token_quota_used:ratio", "{{key}}")],
                "Tokens over the last 24 h / the key's tokens per day.",
            )
        )
        .with_panel(
            graph(
                "Requests and refusals by key",
                "reqps",
                [
                    query(
                        f"sum by (key) (rate(llm_gateway_key_requests_total[{RATE}]))",
                        "{{key}}",
                    ),
                    query(
                        f"sum by (key, type) (rate(llm_gateway_key_refusals_total[{RATE}]))",
                        "{{key}} {{type}}",
                    ),
                ],
            )
        )
        .with_row(dashboard.Row("Upstreams, store, tracing"))
        .with_panel(
            graph(
                "Upstream up",
                "short",
                [query("max by (upstream) (llm_gateway_upstream_up)", "{{upstream}}")],
                "1 while taken, 0 while skipped after a failure (MODEL_BACKEND=openai).",
            )
        )
        .with_panel(
            graph(
                "Upstream errors and latency",
                "short",
                [
                    query(
                        "sum by (upstream, kind) "
                        f"(rate(llm_gateway_upstream_errors_total[{RATE}]))",
                        "{{upstream}} {{kind}}",
                    ),
                    query(
                        "histogram_quantile(0.95, sum by (le, upstream) "
                        f"(rate(llm_gateway_upstream_latency_seconds_bucket[{RATE}])))",
                        "p95 latency {{upstream}}",
                    ),
                ],
            )
        )
        .with_panel(
            graph(
                "Store errors and dropped spans",
                "short",
                [
                    query(
                        f"sum by (operation) (rate(llm_gateway_store_errors_total[{RATE}]))",
                        "store {{operation}}",
                    ),
                    query(
                        f"sum(rate(llm_gateway_trace_spans_dropped_total[{RATE}]))",
                        "spans dropped",
                    ),
                ],
            )
        )
    )


def render() -> str:
    return json.dumps(build().build(), cls=JSONEncoder, sort_keys=True, indent=2) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        sys.exit(
            0
            if OUT.read_text() == render()
            else "grafana/llm-gateway.json is stale: run make dashboard"
        )
    OUT.write_text(render())
