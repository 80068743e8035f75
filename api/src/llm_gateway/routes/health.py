from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..lifecycle import start_failure
from ..service import ModelRegistry
from ..store import ResponseStore, StoreUnavailable

router = APIRouter()


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the worker's event loop answers."""
    return {"status": "ok"}


@router.get("/ready")
async def ready(request: Request) -> JSONResponse:
    """Readiness: every model is loaded. The response store is reported (`store`: `ok`, or
    why not) but does not decide: without it only `store`/`previous_response_id` requests
    fail (503), chat keeps serving, so the replica stays in its proxy's rotation."""
    registry: ModelRegistry = request.app.state.registry
    store: ResponseStore = request.app.state.gateway.store
    models = {m.id: m.backend.ready for m in registry.models()}
    body: dict[str, Any] = {"status": "ready", "models": models}
    try:
        await store.ping()
        body["store"] = "ok"
    except StoreUnavailable as exc:
        body["store"] = exc.message
    failure = start_failure(request.app)
    if failure is not None and failure.reason is not None:
        body.update(status="failed", reason=failure.reason)
    elif not all(models.values()):
        body["status"] = "loading"
    return JSONResponse(body, status_code=200 if body["status"] == "ready" else 503)
