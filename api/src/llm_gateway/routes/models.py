from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ..protocol.errors import ErrorResponse
from ..service import ModelRegistry, ServedModel

router = APIRouter()


def _model(model: ServedModel) -> dict[str, Any]:
    return {
        "id": model.id,
        "object": "model",
        "created": model.created,
        "owned_by": model.owned_by,
    }


@router.get("/v1/models")
async def list_models(request: Request) -> dict[str, Any]:
    registry: ModelRegistry = request.app.state.registry
    return {"object": "list", "data": [_model(m) for m in registry.models()]}


@router.get(
    "/v1/models/{model_id:path}",
    responses={404: {"model": ErrorResponse, "description": "The model does not exist."}},
)
async def get_model(model_id: str, request: Request) -> dict[str, Any]:
    registry: ModelRegistry = request.app.state.registry
    return _model(registry.get(model_id, param="model", fallback=False))
