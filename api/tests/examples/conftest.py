"""Servers for the client examples in examples/: a mock-backed gunicorn with API keys on
(the examples must send the key) and two workers (a stored conversation must continue
whichever worker serves the next turn), and the real default model for tools and JSON mode.
Each keeps its stored responses in a SQLite file of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..helpers import ServerProcess, running_server

API_KEY = "sk-examples-test"


@pytest.fixture(scope="package")
def keyed_mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    store = tmp_path_factory.mktemp("keyed-mock") / "responses.db"
    with running_server(
        API_KEYS=API_KEY,
        MOCK_TOKEN_MS="2",
        MOCK_MAX_TOKENS="24",
        WORKERS="2",
        RESPONSE_STORE=str(store),
    ) as server:
        yield server


@pytest.fixture(scope="package")
def keyed_llama(
    model_file: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """The default model, as `make serve` runs it; stopped when this package is done."""
    store = tmp_path_factory.mktemp("keyed-llama") / "responses.db"
    with running_server(
        RESPONSE_STORE=str(store),
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
    """What the examples read: the OpenAI and Anthropic SDKs' own variable names (an
    Anthropic base URL is the server's root: the SDKs add `/v1/messages`)."""
    return {
        "OPENAI_BASE_URL": f"{server.base_url}/v1",
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_MODEL": "gpt-3.5-turbo",
        "ANTHROPIC_BASE_URL": server.base_url,
        "ANTHROPIC_API_KEY": API_KEY,
        "ANTHROPIC_MODEL": "gpt-3.5-turbo",
    }
