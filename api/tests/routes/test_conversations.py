"""The Conversations API in-process: conversations and their items follow the spec, a
response with `conversation` reads the items and appends its input and output (streamed or
not), and everything is scoped by API key. The `Transcript` backend answers with what it was
given, so the tests see exactly what reached the model."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..support.app import asgi_client, settings
from ..support.spec import SpecValidator
from ..support.sse import named_events

TRANSCRIPT = "tests.support.scripted_backend:Transcript"
ALICE = {"Authorization": "Bearer sk-alice"}
BOB = {"Authorization": "Bearer sk-bob"}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    s = settings(
        model_backend=TRANSCRIPT,
        api_keys="sk-alice,sk-bob",
        response_store=str(tmp_path / "store.db"),
    )
    async with asgi_client(s) as c:
        c.headers.update(ALICE)
        yield c


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": text}


def texts(items: list[dict[str, Any]]) -> list[str]:
    return [
        f"{item['role']}: " + "".join(p.get("text", "") for p in item["content"])
        if item["type"] == "message"
        else item["type"]
        for item in items
    ]


async def test_create_retrieve_update_delete(
    client: httpx.AsyncClient, spec: SpecValidator
) -> None:
    r = await client.post(
        "/v1/conversations", json={"metadata": {"topic": "demo"}, "items": [user("hi")]}
    )
    assert r.status_code == 200, r.text
    made = r.json()
    spec.validate("ConversationResource", made)
    assert made["object"] == "conversation" and made["id"].startswith("conv_")
    assert made["metadata"] == {"topic": "demo"}
    cid = made["id"]
    assert (await client.get(f"/v1/conversations/{cid}")).json() == made
    r = await client.post(f"/v1/conversations/{cid}", json={"metadata": {"topic": "other"}})
    assert r.status_code == 200
    spec.validate("ConversationResource", r.json())
    assert r.json() == {**made, "metadata": {"topic": "other"}}
    assert (await client.get(f"/v1/conversations/{cid}")).json()["metadata"] == {"topic": "other"}
    r = await client.delete(f"/v1/conversations/{cid}")
    spec.validate("DeletedConversationResource", r.json())
    assert r.json() == {"id": cid, "object": "conversation.deleted", "deleted": True}
    assert (await client.get(f"/v1/conversations/{cid}")).status_code == 404
    assert (await client.get(f"/v1/conversations/{cid}/items")).status_code == 404


async def test_an_empty_conversation(client: httpx.AsyncClient) -> None:
    made = (await client.post("/v1/conversations", json={})).json()
    assert made["metadata"] == {}
    page = (await client.get(f"/v1/conversations/{made['id']}/items")).json()
    assert page == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }


async def test_items_add_list_page_retrieve_delete(
    client: httpx.AsyncClient, spec: SpecValidator
) -> None:
    cid = (await client.post("/v1/conversations", json={"items": [user("one")]})).json()["id"]
    # A message without `type`, as the SDKs send one.
    added = await client.post(
        f"/v1/conversations/{cid}/items",
        json={"items": [{"role": "user", "content": "two"}, user("three")]},
        params={"include": ["message.output_text.logprobs"]},
    )
    assert added.status_code == 200, added.text
    spec.validate("ConversationItemList", added.json())
    assert texts(added.json()["data"]) == ["user: two", "user: three"]
    assert added.json()["has_more"] is False

    listed = (await client.get(f"/v1/conversations/{cid}/items")).json()
    spec.validate("ConversationItemList", listed)
    assert texts(listed["data"]) == ["user: three", "user: two", "user: one"]  # desc
    first = (await client.get(f"/v1/conversations/{cid}/items?order=asc&limit=2")).json()
    assert texts(first["data"]) == ["user: one", "user: two"] and first["has_more"]
    rest = (
        await client.get(
            f"/v1/conversations/{cid}/items", params={"order": "asc", "after": first["last_id"]}
        )
    ).json()
    assert texts(rest["data"]) == ["user: three"] and not rest["has_more"]

    one = listed["data"][0]
    got = await client.get(f"/v1/conversations/{cid}/items/{one['id']}")
    spec.validate("ConversationItem", got.json())
    assert got.json() == one
    r = await client.delete(f"/v1/conversations/{cid}/items/{one['id']}")
    spec.validate("ConversationResource", r.json())
    assert r.json()["id"] == cid
    assert (await client.get(f"/v1/conversations/{cid}/items/{one['id']}")).status_code == 404
    assert (await client.delete(f"/v1/conversations/{cid}/items/{one['id']}")).status_code == 404
    left = (await client.get(f"/v1/conversations/{cid}/items?order=asc")).json()
    assert texts(left["data"]) == ["user: one", "user: two"]


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/conversations", {"items": [user("x")] * 21}, "items"),
        ("/v1/conversations", {"metadata": {"k": "v" * 513}}, "metadata.k"),
        ("/v1/conversations/{cid}/items", {"items": []}, "items"),
        ("/v1/conversations/{cid}/items", {"items": [user("x")] * 21}, "items"),
        ("/v1/conversations/{cid}", {}, "metadata"),
    ],
)
async def test_bad_bodies_are_400s_naming_the_field(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], param: str
) -> None:
    cid = (await client.post("/v1/conversations", json={})).json()["id"]
    r = await client.post(path.format(cid=cid), json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param


async def test_a_response_reads_and_appends_to_its_conversation(
    client: httpx.AsyncClient, spec: SpecValidator
) -> None:
    cid = (await client.post("/v1/conversations", json={"items": [user("my name is Ada")]})).json()[
        "id"
    ]
    r = await client.post(
        "/v1/responses", json={"model": "mock-model", "input": "who am I?", "conversation": cid}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    spec.validate("Response", body)
    assert body["conversation"] == {"id": cid}
    assert body["output"][0]["content"][0]["text"] == "user: my name is Ada\nuser: who am I?"
    # Streamed, with the `{"id": …}` form: it sees the first turn too.
    r = await client.post(
        "/v1/responses",
        json={"model": "mock-model", "input": "again", "conversation": {"id": cid}, "stream": True},
    )
    done = [data for name, data in named_events(r.text) if name == "response.completed"]
    assert done[0]["response"]["output"][0]["content"][0]["text"].startswith(
        "user: my name is Ada\nuser: who am I?\nassistant: user: my name is Ada"
    )
    items = (await client.get(f"/v1/conversations/{cid}/items?order=asc&limit=100")).json()
    assert [i["role"] for i in items["data"]] == ["user", "user", "assistant", "user", "assistant"]
    assert items["data"][2]["id"] == body["output"][0]["id"]


async def test_store_false_still_appends_to_the_conversation(client: httpx.AsyncClient) -> None:
    cid = (await client.post("/v1/conversations", json={})).json()["id"]
    r = await client.post(
        "/v1/responses",
        json={"model": "mock-model", "input": "hi", "conversation": cid, "store": False},
    )
    assert r.status_code == 200
    assert (await client.get(f"/v1/responses/{r.json()['id']}")).status_code == 404
    items = (await client.get(f"/v1/conversations/{cid}/items")).json()["data"]
    assert [i["role"] for i in items] == ["assistant", "user"]


async def test_conversation_rules(client: httpx.AsyncClient) -> None:
    cid = (await client.post("/v1/conversations", json={})).json()["id"]
    first = (await client.post("/v1/responses", json={"model": "mock-model", "input": "x"})).json()
    both = {"conversation": cid, "previous_response_id": first["id"]}
    r = await client.post("/v1/responses", json={"model": "mock-model", "input": "x", **both})
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "conversation"
    r = await client.post(
        "/v1/responses", json={"model": "mock-model", "input": "x", "conversation": "conv_nope"}
    )
    assert r.status_code == 404
    assert r.json()["error"]["param"] == "conversation"


async def test_concurrent_responses_lose_no_item(client: httpx.AsyncClient) -> None:
    cid = (await client.post("/v1/conversations", json={})).json()["id"]

    async def turn(n: int) -> None:
        body = {"model": "mock-model", "input": f"turn {n}", "conversation": cid}
        r = await client.post("/v1/responses", json=body)
        assert r.status_code == 200, r.text

    await asyncio.gather(*(turn(n) for n in range(20)))
    items = (await client.get(f"/v1/conversations/{cid}/items?limit=100")).json()["data"]
    assert len(items) == 40
    asked = sorted(i["content"][0]["text"] for i in items if i["role"] == "user")
    assert asked == sorted(f"turn {n}" for n in range(20))


async def test_another_key_gets_404_on_every_route(client: httpx.AsyncClient) -> None:
    cid = (await client.post("/v1/conversations", json={"items": [user("secret")]})).json()["id"]
    iid = (await client.get(f"/v1/conversations/{cid}/items")).json()["data"][0]["id"]
    calls = [
        ("GET", f"/v1/conversations/{cid}", None),
        ("POST", f"/v1/conversations/{cid}", {"metadata": {}}),
        ("GET", f"/v1/conversations/{cid}/items", None),
        ("POST", f"/v1/conversations/{cid}/items", {"items": [user("x")]}),
        ("GET", f"/v1/conversations/{cid}/items/{iid}", None),
        ("DELETE", f"/v1/conversations/{cid}/items/{iid}", None),
        ("DELETE", f"/v1/conversations/{cid}", None),
        ("POST", "/v1/responses", {"model": "mock-model", "input": "x", "conversation": cid}),
    ]
    for method, path, body in calls:
        r = await client.request(method, path, json=body, headers=BOB)
        assert r.status_code == 404, (method, path, r.text)
    items = (await client.get(f"/v1/conversations/{cid}/items")).json()["data"]
    assert texts(items) == ["user: secret"]
