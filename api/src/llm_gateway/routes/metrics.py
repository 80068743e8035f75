from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from ..observability.metrics import Metrics

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus text format, summed over every gunicorn worker of this server."""
    m: Metrics = request.app.state.metrics
    # In multiprocess mode this reads every worker's files: keep it off the event loop.
    body = await run_in_threadpool(m.render)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
