"""MODEL_BACKEND → a backend instance: the class (a built-in name or `package.module:Class`)
and its own settings, read from the environment like the server's."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from typing import Any

from ..env import read_settings
from .base import Backend

BUILT_IN = {
    "mock": "llm_gateway.backends.mock:MockBackend",
    "llama": "llm_gateway.backends.llama.backend:LlamaBackend",
    "openai": "llm_gateway.backends.openai.backend:OpenAIBackend",
}


def backend_class(spec: str) -> type[Backend[Any]]:
    """Built-in backends are loaded exactly like a user's class, by import path."""
    path = BUILT_IN.get(spec, spec)
    module_name, _, class_name = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"MODEL_BACKEND={spec!r}: cannot import {module_name!r}: {exc}") from exc
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise ValueError(
            f"MODEL_BACKEND={spec!r}: {class_name!r} is not a subclass of "
            "llm_gateway.backends.Backend"
        )
    if inspect.isabstract(cls):
        missing = sorted(cls.__abstractmethods__)
        raise ValueError(
            f"MODEL_BACKEND={spec!r}: {class_name!r} does not implement {', '.join(missing)} "
            "(a backend that makes one choice at a time subclasses "
            "llm_gateway.backends.SingleChoiceBackend and writes `stream(request)`)"
        )
    return cls


def create_backend(spec: str, options: Mapping[str, Any] | None = None) -> Backend[Any]:
    """The backend named by `spec`, its settings from the environment; `options` win over
    the environment (tests, and later per-model entries)."""
    cls = backend_class(spec)
    return cls(read_settings(cls.settings_class, **dict(options or {})))
