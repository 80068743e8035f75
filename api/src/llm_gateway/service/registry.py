"""Served model ids (primary id + aliases) → the backend that answers them, and which
endpoints each id is served on."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ..backends import Backend
from ..errors import InvalidRequest, ModelNotFound, ServiceUnavailable
from .admission import Admission

ENDPOINTS = frozenset({"chat", "completions", "responses", "messages", "embeddings"})
ENDPOINT_NAMES = {
    "chat": "chat completions",
    "completions": "text completions",
    "responses": "the Responses API",
    "messages": "the Messages API",
    "embeddings": "embeddings",
}
CHAT_SHAPES = frozenset({"chat", "responses", "messages"})
"""Endpoints that ride on a backend's chat: the Responses and Messages APIs are chat too."""


def backend_endpoints(backend: Backend[Any]) -> frozenset[str]:
    """Every endpoint the backend can serve."""
    out: set[str] = set()
    if backend.supports_chat:
        out |= CHAT_SHAPES
    if backend.supports_completions:
        out.add("completions")
    if backend.supports_embeddings:
        out.add("embeddings")
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class ServedModel:
    """One id clients use. Aliases of a model share its backend and its admission: for
    generation (its concurrency per worker) and, apart, for embeddings."""

    id: str
    backend: Backend[Any]
    admission: Admission
    embedding_admission: Admission
    created: int
    owned_by: str
    endpoints: frozenset[str] = ENDPOINTS


class ModelRegistry:
    def __init__(self) -> None:
        self._models: dict[str, ServedModel] = {}
        self._fallback: ServedModel | None = None

    def fall_back_to(self, model_id: str) -> None:
        """Answer every unknown model id with `model_id` (DEFAULT_MODEL): clients that
        hard-code another vendor's ids still reach a model. Refused if it is not served."""
        if model_id not in self._models:
            raise ValueError(
                f"DEFAULT_MODEL={model_id!r} is not a served model id "
                f"(served: {', '.join(self._models)})"
            )
        self._fallback = self._models[model_id]

    def add(
        self,
        backend: Backend[Any],
        ids: list[str],
        *,
        admission: Admission,
        embedding_admission: Admission,
        owned_by: str,
        endpoints: frozenset[str] | None = None,
    ) -> None:
        """Serve `backend` as each of `ids`, on `endpoints` (default: all it supports)."""
        created = int(time.time())
        served_on = backend_endpoints(backend) & (ENDPOINTS if endpoints is None else endpoints)
        for model_id in ids:
            self._models.setdefault(
                model_id,
                ServedModel(
                    model_id, backend, admission, embedding_admission, created, owned_by, served_on
                ),
            )

    def get(
        self, model_id: str, *, param: str | None = "model", fallback: bool = True
    ) -> ServedModel:
        """The served model `model_id` names; with `fallback`, DEFAULT_MODEL's for an id
        this server does not serve (when set)."""
        try:
            return self._models[model_id]
        except KeyError:
            if fallback and self._fallback is not None:
                return self._fallback
            raise ModelNotFound(
                f"The model '{model_id}' does not exist or you do not have access to it.",
                param=param,
            ) from None

    def resolve(self, model_id: str, endpoint: str) -> ServedModel:
        """The model for a request to `endpoint`: it exists, is loaded, and serves it."""
        served = self.get(model_id)
        if not served.backend.ready:
            raise ServiceUnavailable(f"The model '{model_id}' is still loading; retry shortly.")
        if endpoint not in served.endpoints:
            raise InvalidRequest(
                f"The model '{model_id}' does not support {ENDPOINT_NAMES[endpoint]}.",
                param="model",
            )
        return served

    def models(self) -> list[ServedModel]:
        return list(self._models.values())

    def backends(self) -> list[Backend[Any]]:
        unique: dict[int, Backend[Any]] = {}
        for model in self._models.values():
            unique.setdefault(id(model.backend), model.backend)
        return list(unique.values())
