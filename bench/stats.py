"""Figures from the load generator's raw records, with `vllm bench serve`'s definitions:

- TTFT: request sent → first content token received;
- TPOT: per request, (end-to-end latency - TTFT) / (output tokens - 1);
- ITL: every gap between two consecutive content chunks, pooled over all requests;
- E2E: request sent → last byte;
- throughput: output tokens of all successful requests / wall time of the run.
"""

from __future__ import annotations

import math
from typing import Any


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize_streams(raw: dict[str, Any]) -> dict[str, Any]:
    requests = raw["requests"]
    ok = [r for r in requests if r["error"] is None]
    ttft = [r["ttft"] for r in ok]
    tpot = [(r["e2e"] - r["ttft"]) / (r["tokens"] - 1) for r in ok if r["tokens"] > 1]
    itl = [gap for r in ok for gap in r["itl"]]
    e2e = [r["e2e"] for r in ok]
    tokens = sum(r["tokens"] for r in ok)
    # "Every stream progresses from its first token": in the first round (all users start
    # together) every stream got its first token before any stream of the round ended.
    first_round = [r for r in ok if r["round"] == 0]
    first_end = min((r["end"] for r in first_round), default=None)
    started_early = sum(1 for r in first_round if first_end is not None and r["first"] < first_end)
    return {
        "requests": len(requests),
        "errors": len(requests) - len(ok),
        "error_samples": sorted({r["error"] for r in requests if r["error"]})[:3],
        "wall_s": raw["wall"],
        "output_tokens": tokens,
        "tok_s": tokens / raw["wall"] if raw["wall"] else 0.0,
        "ttft_ms": _ms(ttft),
        "tpot_ms": _ms(tpot),
        "itl_ms": _ms(itl),
        "itl_max_ms": max(itl) * 1000 if itl else None,
        "e2e_ms": _ms(e2e),
        "decode_tok_s": 1 / mean(tpot) if tpot else None,  # type: ignore[operator]
        "first_round": len(first_round),
        "first_round_started_before_any_ended": started_early,
        "loadgen_cpu_pct": 100 * raw["cpu"] / raw["wall"] if raw["wall"] else None,
        "loadgen_cpu_s": raw["cpu"],
    }


def summarize_requests(raw: dict[str, Any]) -> dict[str, Any]:
    latencies = raw["latencies"]
    wall = raw["wall"]
    return {
        "requests": len(latencies),
        "errors": raw["errors"],
        "wall_s": wall,
        "rps": len(latencies) / wall if wall else 0.0,
        "latency_ms": _ms(latencies),
        "events": raw["events"],
        "events_s": raw["events"] / wall if wall else 0.0,
        "loadgen_cpu_pct": 100 * raw["cpu"] / wall if wall else None,
        "loadgen_cpu_s": raw["cpu"],
    }


def _ms(values: list[float]) -> dict[str, float | None]:
    scaled = [v * 1000 for v in values]
    return {
        "mean": mean(scaled),
        "p50": percentile(scaled, 50),
        "p99": percentile(scaled, 99),
    }
