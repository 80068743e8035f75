"""Stored chat completions in-process: `store: true` keeps the completion (streamed or not),
its request messages and `metadata`; list (model, metadata filters, pages), retrieve,
update, delete and the messages list follow the spec; each key sees only its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..support.app import asgi_client, settings
from ..support.spec import SpecValidator
from ..support.sse import named_events

ALICE = {"Authorization": "Bearer sk-alice"}
BOB = {"Authorization": "Bearer sk-bob"}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    s = settings(
        model_backend="tests.support.scripted_backend:Transcript",
        api_keys="sk-alice,sk-bob",
        response_store=str(tmp_path / "store.db"),
    )
    async with asgi_client(s) as c:
        c.headers.update(ALICE)
        yield c


async def chat(client: httpx.AsyncClient, text: str, **extra: Any) -> httpx.Response:
    body = {
        "model": "mock-model",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}],
        **extra,
    }
    return await client.post("/v1/chat/completions", json=body)


async def test_only_store_true_keeps_a_completion(client: httpx.AsyncClient) -> None:
    plain = (await chat(client, "not kept")).json()
    assert (await client.get(f"/v1/chat/completions/{plain['id']}")).status_code == 404
    assert (await client.get("/v1/chat/completions")).json()["data"] == []


async def test_a_stored_completion_and_its_messages(
    client: httpx.AsyncClient, spec: SpecValidator
) -> None:
    made = (await chat(client, "hello", store=True, metadata={"run": "1"})).json()
    got = await client.get(f"/v1/chat/completions/{made['id']}")
    assert got.status_code == 200
    spec.validate("CreateChatCompletionResponse", got.json())
    assert got.json() == {**made, "metadata": {"run": "1"}}
    messages = (await client.get(f"/v1/chat/completions/{made['id']}/messages")).json()
    spec.validate("ChatCompletionMessageList", messages)
    assert [(m["role"], m["content"]) for m in messages["data"]] == [
        ("system", "Be brief."),
        ("user", "hello"),
    ]
    assert messages["first_id"] == messages["data"][0]["id"]
    page = (await client.get(f"/v1/chat/completions/{made['id']}/messages?limit=1")).json()
    assert [m["role"] for m in page["data"]] == ["system"] and page["has_more"]


async def test_a_streamed_completion_is_stored_folded(
    client: httpx.AsyncClient, spec: SpecValidator
) -> None:
    r = await chat(client, "streamed", store=True, stream=True)
    chunks = [data for _, data in named_events(r.text) if data != "[DONE]"]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    got = (await client.get(f"/v1/chat/completions/{chunks[0]['id']}")).json()
    spec.validate("CreateChatCompletionResponse", got)
    assert got["object"] == "chat.completion"
    assert got["choices"][0]["message"]["content"] == text == "system: Be brief.\nuser: streamed"
    assert got["usage"]["completion_tokens"] > 0


async def test_list_filters_and_pages(client: httpx.AsyncClient, spec: SpecValidator) -> None:
    ids = [
        (await chat(client, f"n{n}", store=True, metadata={"parity": str(n % 2)})).json()["id"]
        for n in range(5)
    ]
    listed = (await client.get("/v1/chat/completions")).json()
    spec.validate("ChatCompletionList", listed)
    assert [c["id"] for c in listed["data"]] == ids  # oldest first by default
    desc = (await client.get("/v1/chat/completions?order=desc&limit=2")).json()
    assert [c["id"] for c in desc["data"]] == ids[:2:-1][:2] and desc["has_more"]
    after = (await client.get("/v1/chat/completions", params={"after": ids[1], "limit": 2})).json()
    assert [c["id"] for c in after["data"]] == ids[2:4] and after["has_more"]
    odd = (await client.get("/v1/chat/completions", params={"metadata[parity]": "1"})).json()
    assert [c["id"] for c in odd["data"]] == [ids[1], ids[3]]
    other = (await client.get("/v1/chat/completions", params={"model": "other"})).json()
    assert other["data"] == []
    mine = (await client.get("/v1/chat/completions", params={"model": "mock-model"})).json()
    assert len(mine["data"]) == 5
    assert (await client.get("/v1/chat/completions?limit=0")).status_code == 400
    assert (await client.get("/v1/chat/completions?order=up")).status_code == 400


async def test_update_and_delete(client: httpx.AsyncClient, spec: SpecValidator) -> None:
    cid = (await chat(client, "x", store=True, metadata={"a": "1"})).json()["id"]
    r = await client.post(f"/v1/chat/completions/{cid}", json={"metadata": {"b": "2"}})
    assert r.status_code == 200
    spec.validate("CreateChatCompletionResponse", r.json())
    assert r.json()["metadata"] == {"b": "2"}
    assert (await client.get(f"/v1/chat/completions/{cid}")).json()["metadata"] == {"b": "2"}
    bad = await client.post(f"/v1/chat/completions/{cid}", json={"metadata": {"k": 1}})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "metadata.k"
    r = await client.delete(f"/v1/chat/completions/{cid}")
    spec.validate("ChatCompletionDeleted", r.json())
    assert r.json() == {"id": cid, "object": "chat.completion.deleted", "deleted": True}
    assert (await client.get(f"/v1/chat/completions/{cid}")).status_code == 404
    assert (await client.delete(f"/v1/chat/completions/{cid}")).status_code == 404


async def test_another_key_gets_404_on_every_route(client: httpx.AsyncClient) -> None:
    cid = (await chat(client, "secret", store=True)).json()["id"]
    for method, path, body in [
        ("GET", f"/v1/chat/completions/{cid}", None),
        ("POST", f"/v1/chat/completions/{cid}", {"metadata": {}}),
        ("GET", f"/v1/chat/completions/{cid}/messages", None),
        ("DELETE", f"/v1/chat/completions/{cid}", None),
    ]:
        r = await client.request(method, path, json=body, headers=BOB)
        assert r.status_code == 404, (method, path)
        assert r.json()["error"]["param"] == "completion_id"
    assert (await client.get("/v1/chat/completions", headers=BOB)).json()["data"] == []
    assert (await client.get(f"/v1/chat/completions/{cid}")).status_code == 200
