from __future__ import annotations

import openai
import pytest

from ..support.default_model import llama_env
from ..support.server import ServerProcess, server_fixture

llama_server = server_fixture(
    lambda model_file: llama_env(model_file, N_PARALLEL="4", MAX_QUEUE="16", QUEUE_TIMEOUT="120"),
    scope="session",
    doc="A real gunicorn server with the real default model (one worker, two threads, four "
    "sequences at once).",
)


@pytest.fixture
def llm(llama_server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=llama_server.base_url + "/v1", api_key="unused", max_retries=0, timeout=120
    )
