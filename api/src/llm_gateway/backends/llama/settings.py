"""The llama backend's own settings (N_CTX, N_THREADS, N_PARALLEL, ...), read like the
server's."""

from __future__ import annotations

import os

from pydantic import Field

from ...assets import DEFAULT_MODEL
from ..base import BackendSettings

# llama.cpp's limit on sequences in one context (LLAMA_MAX_SEQ).
MAX_PARALLEL = 64


class LlamaSettings(BackendSettings):
    model_path: str = Field(
        DEFAULT_MODEL.path, description="the GGUF file (`make model` fetches the default)"
    )
    n_ctx: int = Field(
        2048, ge=64, le=1_048_576, description="context window of each sequence, in tokens"
    )
    n_threads: int = Field(
        default_factory=lambda: max(1, os.cpu_count() or 1),
        ge=1,
        le=1024,
        description="llama.cpp threads (llama-cpp-python's own default is 1)",
    )
    n_batch: int = Field(
        256, ge=1, le=65_536, description="most tokens evaluated in one step (prompt chunks)"
    )
    n_parallel: int = Field(
        8,
        ge=1,
        le=MAX_PARALLEL,
        description="sequences one worker generates at once (llama.cpp server's -np); the KV "
        "cache holds N_CTX x N_PARALLEL tokens",
    )
    kv_host_cache_mb: int = Field(
        1024,
        ge=0,
        le=1_048_576,
        description="host memory for the KV of conversations whose slot another one took "
        "(restored when they return instead of evaluated again; least recently used "
        "evicted first; 0: off), in MiB per worker",
    )
    flash_attn: bool = Field(
        True,
        description="attention computed row by row, so that batching never changes an "
        "answer (temperature 0 or a seed gives the same text alone or with others); false: "
        "prompts are read somewhat faster on CPU (about 10 % at 500 tokens here), but a "
        "sequence's rounding then depends on what runs beside it",
    )
    embedding_model_path: str | None = Field(
        None, description="GGUF for /v1/embeddings (empty: the chat model, MODEL_PATH)"
    )
    embedding_n_ctx: int = Field(
        512, ge=8, le=1_048_576, description="longest embeddings input, in tokens"
    )
