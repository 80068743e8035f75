"""Served model ids (primary id + aliases) → the backend that answers them."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..backends import Backend
from ..errors import ModelNotFound


@dataclass(frozen=True, slots=True)
class ServedModel:
    id: str
    backend: Backend
    created: int
    owned_by: str


class ModelRegistry:
    def __init__(self) -> None:
        self._models: dict[str, ServedModel] = {}

    def add(self, backend: Backend, ids: list[str], owned_by: str) -> None:
        created = int(time.time())
        for model_id in ids:
            self._models[model_id] = ServedModel(model_id, backend, created, owned_by)

    def get(self, model_id: str, *, param: str | None = "model") -> ServedModel:
        try:
            return self._models[model_id]
        except KeyError:
            raise ModelNotFound(
                f"The model '{model_id}' does not exist or you do not have access to it.",
                param=param,
            ) from None

    def models(self) -> list[ServedModel]:
        return list(self._models.values())

    def backends(self) -> list[Backend]:
        unique: dict[int, Backend] = {}
        for model in self._models.values():
            unique.setdefault(id(model.backend), model.backend)
        return list(unique.values())
