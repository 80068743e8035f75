from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..service import ModelRegistry

router = APIRouter()


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the worker's event loop answers."""
    return {"status": "ok"}


@router.get("/ready")
async def ready(request: Request) -> JSONResponse:
    """Readiness: every model is loaded."""
    registry: ModelRegistry = request.app.state.registry
    models = {m.id: m.backend.ready for m in registry.models()}
    ok = all(models.values())
    return JSONResponse(
        {"status": "ready" if ok else "loading", "models": models},
        status_code=200 if ok else 503,
    )
