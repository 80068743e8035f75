"""Figures measured in interleaved rounds, and what a verdict is judged on.

One run on a shared 2-core machine swings by ±20 %: whoever runs while a neighbour compiles
loses. So the comparisons that decide a target run in rounds, the servers taking turns within
each round (the order rotating, so none always goes first), and a target is judged on the
median over the rounds, shown with its min-max: a verdict that one lucky or unlucky run
cannot flip.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stats import percentile


def order(names: Sequence[str], index: int) -> list[str]:
    """Round `index`'s order: the names rotated by one each round (with two: alternately)."""
    k = index % len(names)
    return [*names[k:], *names[:k]]


def spread(values: Sequence[float | None]) -> dict[str, Any] | None:
    """Median, min and max of one figure over the rounds (None where it was not measured)."""
    measured = [v for v in values if v is not None]
    if not measured:
        return None
    return {
        "median": percentile(measured, 50),
        "min": min(measured),
        "max": max(measured),
        "rounds": list(values),
    }


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def median_summary(summaries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One summary whose every number is the median of that number over `summaries` (nested
    dicts field by field; anything else is taken from the first)."""
    out: dict[str, Any] = {}
    for key in summaries[0]:
        values = [s.get(key) for s in summaries]
        first = next((v for v in values if v is not None), None)
        if isinstance(first, dict):
            out[key] = median_summary([v for v in values if isinstance(v, dict)])
        elif isinstance(first, int | float) and not isinstance(first, bool):
            numbers = [v for v in values if isinstance(v, int | float)]
            out[key] = percentile(numbers, 50)
        else:
            out[key] = first
    return out
