"""MODELS_FILE in a running server: two backends in one gunicorn, each id routed to its own,
seen through the official SDK; /metrics announces both."""

from __future__ import annotations

import httpx
import openai
import pytest

from ..support.paths import REPO_ROOT
from ..support.scrape import parse, total
from ..support.server import ServerProcess, server_fixture

pytestmark = pytest.mark.server

CATALOG = """
models:
  - id: fast-mock
    backend: mock
    aliases: [gpt-4o-mini]
    settings: {mock_max_tokens: 3}
  - id: transcript
    backend: tests.support.scripted_backend:Transcript
"""


def catalog_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    catalog = tmp_path_factory.mktemp("catalog") / "models.yaml"
    catalog.write_text(CATALOG)
    return {"WORKERS": "2", "MODELS_FILE": str(catalog), "PYTHONPATH": str(REPO_ROOT / "api")}


server = server_fixture(catalog_env)


def test_each_id_is_served_by_its_backend(server: ServerProcess) -> None:
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="x", max_retries=0)
    assert [m.id for m in client.models.list()] == ["fast-mock", "gpt-4o-mini", "transcript"]
    ask = [{"role": "user", "content": "who are you"}]
    mock = client.chat.completions.create(model="gpt-4o-mini", messages=ask)  # type: ignore[arg-type]
    assert mock.usage is not None and mock.usage.completion_tokens == 3
    echo = client.chat.completions.create(model="transcript", messages=ask)  # type: ignore[arg-type]
    assert echo.choices[0].message.content == "user: who are you"
    seen = parse(httpx.get(server.base_url + "/metrics", timeout=10).text)
    assert total(seen, "llm_gateway_build_info", model="fast-mock", backend="mock") == 1
    assert total(seen, "llm_gateway_build_info", model="transcript", backend="transcript") == 1
