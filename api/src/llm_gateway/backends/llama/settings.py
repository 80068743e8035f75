"""The llama backend's own settings (N_CTX, N_THREADS, ...), read like the server's."""

from __future__ import annotations

import os

from pydantic import Field

from ...assets import DEFAULT_MODEL
from ..base import BackendSettings


class LlamaSettings(BackendSettings):
    model_path: str = Field(
        DEFAULT_MODEL.path, description="the GGUF file (`make model` fetches the default)"
    )
    n_ctx: int = Field(2048, ge=64, le=1_048_576, description="context window in tokens")
    n_threads: int = Field(
        default_factory=lambda: max(1, os.cpu_count() or 1),
        ge=1,
        le=1024,
        description="llama.cpp threads (llama-cpp-python's own default is 1)",
    )
    n_batch: int = Field(256, ge=1, le=65_536, description="prompt evaluation batch")
    embedding_model_path: str | None = Field(
        None, description="GGUF for /v1/embeddings (empty: the chat model, MODEL_PATH)"
    )
    embedding_n_ctx: int = Field(
        512, ge=8, le=1_048_576, description="longest embeddings input, in tokens"
    )
