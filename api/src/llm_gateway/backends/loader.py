"""Pick the backend class named by MODEL_BACKEND: a built-in name or `module:Class`."""

from __future__ import annotations

import importlib

from ..config import Settings
from .base import Backend


def backend_class(spec: str) -> type[Backend]:
    if spec == "mock":
        from .mock import MockBackend

        return MockBackend
    if spec == "llama":
        from .llama import LlamaBackend

        return LlamaBackend
    module_name, _, class_name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"MODEL_BACKEND={spec!r}: cannot import {module_name!r}: {exc}") from exc
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise ValueError(
            f"MODEL_BACKEND={spec!r}: {class_name!r} is not a subclass of llm_gateway.Backend"
        )
    return cls


def create_backend(settings: Settings) -> Backend:
    return backend_class(settings.model_backend)(settings)
