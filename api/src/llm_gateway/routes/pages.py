"""OpenAI's list envelope (`object: list`, `data`, `first_id`, `last_id`, `has_more`) and its
cursor parameters (`after`, `limit`, `order`), for lists the store returns whole."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request

from ..errors import InvalidRequest


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidRequest(f"'{name}' must be an integer from {low} to {high}.", param=name)
    return int(raw)


def page(request: Request, oldest_first: Sequence[dict[str, Any]], order: str) -> dict[str, Any]:
    """One page of `oldest_first` (each with an `id`): in the client's `order` (else
    `order`), after the item the `after` cursor names, at most `limit` (1-100, 20)."""
    limit = int_param(request, "limit", 20, 1, 100)
    order = request.query_params.get("order", order)
    if order not in {"asc", "desc"}:
        raise InvalidRequest("'order' must be 'asc' or 'desc'.", param="order")
    items = list(oldest_first) if order == "asc" else list(reversed(oldest_first))
    after = request.query_params.get("after")
    if after is not None:
        ids = [item["id"] for item in items]
        if after not in ids:
            raise InvalidRequest(f"No object with id '{after}' to list after.", param="after")
        items = items[ids.index(after) + 1 :]
    data = items[:limit]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(items) > limit,
    }


def whole(data: list[dict[str, Any]]) -> dict[str, Any]:
    """Every item on one page (what adding items answers)."""
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": False,
    }
