"""Servers for the client examples in examples/: a mock-backed gunicorn with API keys on
(the examples must send the key) and two workers (a stored conversation must continue
whichever worker serves the next turn), and the real default model for tools and JSON mode.
Each keeps its stored responses in a SQLite file of its own (as every test server does)."""

from __future__ import annotations

from ..support.default_model import llama_env
from ..support.server import ServerProcess, server_fixture
from ..support.server_env import mock_pace

API_KEY = "sk-examples-test"


keyed_mock = server_fixture(
    {"API_KEYS": API_KEY, **mock_pace(2, 24), "WORKERS": "2"}, scope="package"
)
keyed_llama = server_fixture(
    lambda model_file: llama_env(model_file, API_KEYS=API_KEY, QUEUE_TIMEOUT="120"),
    scope="package",
    doc="The default model, as `make serve` runs it; stopped when this package is done.",
)


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
