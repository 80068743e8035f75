"""Reading a server's Prometheus text exposition in tests: parse it, scrape /metrics, and
read one sample or a sum of them."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

# The latency histograms every generation request adds one observation to.
HISTOGRAMS = (
    "llm_gateway_e2e_request_latency_seconds",
    "llm_gateway_time_to_first_token_seconds",
    "llm_gateway_request_time_per_output_token_seconds",
    "llm_gateway_request_queue_time_seconds",
    "llm_gateway_request_overhead_seconds",
)


def parse(text: str) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def scrape(base_url: str) -> Samples:
    """A server's /metrics, parsed (on a connection of its own)."""
    r = httpx.get(f"{base_url}/metrics", headers={"connection": "close"}, timeout=30)
    assert r.status_code == 200, r.text
    return parse(r.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the series does not exist (yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum over every series of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)
