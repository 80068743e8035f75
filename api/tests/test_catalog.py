"""Several models in one deployment (MODELS_FILE): each id routes to its own backend, with its
own settings, concurrency and endpoints; without the file, the MODEL_* settings describe the
one model as before."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from llm_gateway.catalog import served_models
from llm_gateway.env import SettingsError

from .support.app import asgi_client, settings

CATALOG = """
models:
  - id: alpha
    backend: mock
    aliases: [gpt-4o-mini]
    concurrency: 3
    settings: {mock_max_tokens: 5, mock_embedding_dimensions: 8}
  - id: echo
    backend: tests.support.scripted_backend:Transcript
    endpoints: [chat, responses]
    owned_by: tests
  - id: text-embedding-3-small
    backend: mock
    endpoints: [embeddings]
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "models.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


async def test_each_id_reaches_its_own_backend(tmp_path: Path) -> None:
    s = settings(models_file=write(tmp_path, CATALOG), response_store=str(tmp_path / "r.db"))
    async with asgi_client(s) as c:
        listed = (await c.get("/v1/models")).json()["data"]
        assert [(m["id"], m["owned_by"]) for m in listed] == [
            ("alpha", "llm-gateway"),
            ("gpt-4o-mini", "llm-gateway"),
            ("echo", "tests"),
            ("text-embedding-3-small", "llm-gateway"),
        ]
        msgs = [{"role": "user", "content": "hello there"}]
        alpha = await c.post("/v1/chat/completions", json={"model": "alpha", "messages": msgs})
        assert alpha.json()["usage"]["completion_tokens"] == 5  # its own MOCK_MAX_TOKENS
        echo = await c.post("/v1/chat/completions", json={"model": "echo", "messages": msgs})
        assert echo.json()["choices"][0]["message"]["content"] == "user: hello there"
        # Endpoints a model is not served on are refused, naming the model.
        r = await c.post("/v1/completions", json={"model": "echo", "prompt": "x"})
        assert r.status_code == 400 and r.json()["error"]["param"] == "model"
        r = await c.post(
            "/v1/chat/completions", json={"model": "text-embedding-3-small", "messages": msgs}
        )
        assert r.status_code == 400
        emb = await c.post("/v1/embeddings", json={"model": "alpha", "input": "x"})
        assert len(emb.json()["data"][0]["embedding"]) == 8
        emb = await c.post("/v1/embeddings", json={"model": "text-embedding-3-small", "input": "x"})
        assert len(emb.json()["data"][0]["embedding"]) == 384
        registry = c._transport.app.state.registry  # type: ignore[attr-defined]
        assert registry.get("alpha").admission.limit == 3
        assert registry.get("gpt-4o-mini").admission is registry.get("alpha").admission
        assert registry.get("echo").admission is not registry.get("alpha").admission


def test_without_a_file_the_model_settings_describe_one_model() -> None:
    (spec,) = served_models(settings(model_aliases="gpt-3.5-turbo,mock-model"))
    assert spec.id == "mock-model"
    assert spec.ids == ["mock-model", "gpt-3.5-turbo"]
    assert spec.backend == "mock"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("models: []", "models: List should have at least 1 item"),
        ("models:\n  - id: a\n", "models.0.backend: Field required"),
        ("models:\n  - {id: a, backend: mock, colour: red}\n", "models.0.colour: Extra inputs"),
        ("models:\n  - {id: a, backend: mock, endpoints: [video]}\n", "models.0.endpoints.0"),
        ("models:\n  - {id: a, backend: mock}\n  - {id: b, backend: mock, aliases: [a]}", "twice"),
        ("models: [", "MODELS_FILE="),
    ],
)  # fmt: skip
def test_a_bad_file_stops_start_up_with_one_line_each(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(SettingsError) as info:
        served_models(settings(models_file=write(tmp_path, text)))
    assert message in str(info.value)


async def test_a_bad_backend_setting_names_the_model(tmp_path: Path) -> None:
    text = "models:\n  - {id: a, backend: mock, settings: {mock_ttft_ms: -1}}\n"
    with pytest.raises(SettingsError) as info:
        async with asgi_client(settings(models_file=write(tmp_path, text))):
            pass
    assert "MOCK_TTFT_MS" in str(info.value)
    assert "the model 'a'" in str(info.value)
