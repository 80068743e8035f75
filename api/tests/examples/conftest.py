"""Servers for the client examples in examples/: a mock-backed gunicorn with API keys on
(the examples must send the key), and the real default model for tools and JSON mode."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..helpers import ServerProcess, running_server

API_KEY = "sk-examples-test"


@pytest.fixture(scope="package")
def keyed_mock() -> Iterator[ServerProcess]:
    with running_server(API_KEYS=API_KEY, MOCK_TOKEN_MS="2", MOCK_MAX_TOKENS="24") as server:
        yield server


@pytest.fixture(scope="package")
def keyed_llama(model_file: str) -> Iterator[ServerProcess]:
    """The default model, as `make serve` runs it; stopped when this package is done."""
    with running_server(
        API_KEYS=API_KEY,
        MODEL_BACKEND="llama",
        MODEL_ID="smollm2",
        MODEL_ALIASES="gpt-3.5-turbo",
        MODEL_PATH=model_file,
        N_CTX="2048",
        N_THREADS="2",
        QUEUE_TIMEOUT="120",
    ) as server:
        yield server


def client_env(server: ServerProcess) -> dict[str, str]:
    """What the examples read: the OpenAI SDKs' own variable names."""
    return {
        "OPENAI_BASE_URL": f"{server.base_url}/v1",
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_MODEL": "gpt-3.5-turbo",
    }
