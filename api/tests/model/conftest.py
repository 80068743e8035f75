from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from ..support.server import ServerProcess, running_server


@pytest.fixture(scope="session")
def llama_server(model_file: str) -> Iterator[ServerProcess]:
    """A real gunicorn server with the real default model (one worker, two threads, four
    sequences at once)."""
    with running_server(
        MODEL_BACKEND="llama",
        MODEL_ID="smollm2",
        MODEL_ALIASES="gpt-3.5-turbo",
        MODEL_PATH=model_file,
        N_CTX="2048",
        N_THREADS="2",
        N_PARALLEL="4",
        MAX_QUEUE="16",
        QUEUE_TIMEOUT="120",
    ) as server:
        yield server


@pytest.fixture
def llm(llama_server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=llama_server.base_url + "/v1", api_key="unused", max_retries=0, timeout=120
    )
