from __future__ import annotations

import httpx

from ..support.spec import SpecValidator


async def test_models_lists_id_and_aliases(client: httpx.AsyncClient, spec: SpecValidator) -> None:
    body = (await client.get("/v1/models")).json()
    spec.validate("ListModelsResponse", body)
    assert [m["id"] for m in body["data"]] == ["mock-model", "gpt-3.5-turbo"]


async def test_one_model(client: httpx.AsyncClient, spec: SpecValidator) -> None:
    r = await client.get("/v1/models/gpt-3.5-turbo")
    spec.validate("Model", r.json())
    assert r.json()["id"] == "gpt-3.5-turbo"
    assert r.json()["object"] == "model"


async def test_unknown_model_is_404_model_not_found(
    client: httpx.AsyncClient, spec: SpecValidator
) -> None:
    r = await client.get("/v1/models/org/unknown")
    assert r.status_code == 404
    spec.validate("ErrorResponse", r.json())
    assert r.json()["error"]["code"] == "model_not_found"


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["models"] == {"mock-model": True, "gpt-3.5-turbo": True}
