"""`GET /v1/usage`: the calling key's usage today (UTC) and its quota, read from the shared
store (so every worker and replica answers the same)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ..context import request_context
from ..errors import NotFound
from ..protocol.errors import ErrorResponse
from ..service.quotas import Quotas

router = APIRouter()


@router.get(
    "/v1/usage",
    responses={
        404: {"model": ErrorResponse, "description": "This server has no API keys."},
        503: {"model": ErrorResponse, "description": "The shared store is unavailable."},
    },
)
async def usage(request: Request) -> dict[str, Any]:
    quotas: Quotas | None = request.app.state.quotas
    name = request_context(request.scope).key_name
    if quotas is None or name is None:
        raise NotFound("Usage is counted per API key, and this server has no keys configured.")
    day, used = await quotas.usage(name)
    quota = quotas.quotas.get(name)
    tpd = quota.tokens_per_day if quota else None
    return {
        "object": "usage",
        "key": name,
        "date": day,
        "requests": used.requests,
        "prompt_tokens": used.prompt_tokens,
        "completion_tokens": used.completion_tokens,
        "total_tokens": used.total_tokens,
        "quota": {
            "tokens_per_day": tpd,
            "requests_per_minute": quota.requests_per_minute if quota else None,
        },
        "remaining_tokens": None if tpd is None else max(0, tpd - used.total_tokens),
    }
