"""The Responses API in-process: the response object and its event stream follow the spec,
stored conversations continue (`previous_response_id`, `item_reference`), and stored state is
scoped by API key. The `Transcript` backend answers with the conversation it was given, so
the tests see exactly what reached the model."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..support.app import asgi_client, settings
from ..support.spec import SpecValidator, validate_response_event
from ..support.sse import named_events

TRANSCRIPT = "tests.support.scripted_backend:Transcript"
TOOL = {
    "type": "function",
    "name": "lookup",
    "description": "Look something up.",
    "parameters": {"type": "object", "properties": {"text": {"type": "string"}}},
    "strict": True,
}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    s = settings(model_backend=TRANSCRIPT, response_store=str(tmp_path / "responses.db"))
    async with asgi_client(s) as c:
        yield c


async def create(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post("/v1/responses", json={"model": "mock-model", **body})


def output_text(response: dict[str, Any]) -> str:
    return "".join(
        part["text"]
        for item in response["output"]
        if item["type"] == "message"
        for part in item["content"]
        if part["type"] == "output_text"
    )


def stream_events(r: httpx.Response, spec: SpecValidator) -> list[dict[str, Any]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    events = []
    for name, data in named_events(r.text):
        assert data != "[DONE]", "Responses streams end with their last event, not [DONE]"
        assert name == data["type"]
        validate_response_event(spec, data)
        events.append(data)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    return events


async def test_a_response_follows_the_spec(client: httpx.AsyncClient, spec: SpecValidator) -> None:
    r = await create(client, input="Hello there", instructions="Be kind.", metadata={"a": "b"})
    assert r.status_code == 200, r.text
    body = r.json()
    spec.validate("Response", body)
    assert body["id"].startswith("resp_")
    assert body["object"] == "response"
    assert body["status"] == "completed"
    assert body["instructions"] == "Be kind."
    assert body["metadata"] == {"a": "b"}
    assert output_text(body) == "system: Be kind.\nuser: Hello there"
    (message,) = body["output"]
    assert message["role"] == "assistant"
    assert message["id"].startswith("msg_")
    usage = body["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0


async def test_the_stream_has_every_event_in_order_and_ends_with_the_stored_response(
    client: httpx.AsyncClient, spec: SpecValidator
) -> None:
    r = await create(client, input="Stream this please", stream=True)
    events = stream_events(r, spec)
    kinds = [e["type"] for e in events]
    deltas = kinds.count("response.output_text.delta")
    assert deltas > 1
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * deltas,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert events[0]["response"]["status"] == "in_progress"
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == "user: Stream this please"
    final = events[-1]["response"]
    assert output_text(final) == text
    stored = (await client.get(f"/v1/responses/{final['id']}")).json()
    assert stored == final


async def test_max_output_tokens_makes_it_incomplete(
    client: httpx.AsyncClient, spec: SpecValidator
) -> None:
    words = " ".join(["word"] * 40)
    body = (await create(client, input=words, max_output_tokens=16)).json()
    spec.validate("Response", body)
    assert body["status"] == "incomplete"
    assert body["incomplete_details"] == {"reason": "max_output_tokens"}
    assert body["output"][0]["status"] == "incomplete"
    events = stream_events(
        await create(client, input=words, max_output_tokens=16, stream=True), spec
    )
    assert events[-1]["type"] == "response.incomplete"


async def test_previous_response_id_continues_the_conversation(
    client: httpx.AsyncClient, spec: SpecValidator
) -> None:
    first = (await create(client, input="My name is Ada.", instructions="Old rules.")).json()
    second = (
        await create(client, input="What is my name?", previous_response_id=first["id"])
    ).json()
    spec.validate("Response", second)
    assert second["previous_response_id"] == first["id"]
    # The history reached the model: the first turn and its answer; not the old instructions.
    assert output_text(second) == (
        f"user: My name is Ada.\nassistant: {output_text(first)}\nuser: What is my name?"
    )
    third = (await create(client, input="Again?", previous_response_id=second["id"])).json()
    assert output_text(third).startswith("user: My name is Ada.")
    assert output_text(third).endswith("user: Again?")


async def test_item_references_resolve_stored_items(client: httpx.AsyncClient) -> None:
    first = (await create(client, input="Remember blue.")).json()
    answer_id = first["output"][0]["id"]
    body = (
        await create(
            client,
            input=[
                {"role": "user", "content": "Remember blue."},
                {"type": "item_reference", "id": answer_id},
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "Which colour?"}],
                },
            ],
        )
    ).json()
    assert output_text(body) == (
        f"user: Remember blue.\nassistant: {output_text(first)}\nuser: Which colour?"
    )


IMAGE = {"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}
MISSING_ITEM = {"type": "item_reference", "id": "msg_missing"}
BAD_REQUESTS: list[tuple[dict[str, Any], int, str, str | None]] = [
    (
        {"previous_response_id": "resp_x"},
        404,
        "previous_response_id",
        "previous_response_not_found",
    ),
    ({"input": [MISSING_ITEM]}, 404, "input[0].id", "item_not_found"),
    ({"stream_options": {"include_obfuscation": False}}, 400, "stream_options", None),
    ({"background": True}, 400, "background", None),
    ({"max_output_tokens": 8}, 400, "max_output_tokens", None),
    (
        {"tool_choice": {"type": "function", "name": "no"}, "tools": [TOOL]},
        400,
        "tool_choice",
        None,
    ),
    ({"tool_choice": "required"}, 400, "tool_choice", None),
    ({"input": [{"type": "reasoning", "summary": []}]}, 400, "input[0]", None),
    ({"input": [IMAGE]}, 400, "input[0].content", None),
    ({"input": [{"role": "wizard", "content": "x"}]}, 400, "input[0].role", None),
    ({"input": []}, 400, "input", None),
    # Hosted tools (web_search, ...) are ignored, not refused; a type the spec lacks is a 400.
    ({"tools": [{"type": "teleport"}]}, 400, "tools[0]", None),
    ({"text": {"format": {"type": "json_schema"}}}, 400, "text.format", None),
    ({"model": "no-such-model"}, 404, "model", "model_not_found"),
]


@pytest.mark.parametrize(("body", "status", "param", "code"), BAD_REQUESTS)
async def test_bad_requests_get_an_openai_error_naming_the_param(
    client: httpx.AsyncClient, body: dict[str, Any], status: int, param: str, code: str | None
) -> None:
    r = await client.post("/v1/responses", json={"model": "mock-model", "input": "x", **body})
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["param"] == param
    assert error["code"] == code


async def test_a_forced_function_call_becomes_a_function_call_item(
    client: httpx.AsyncClient, spec: SpecValidator
) -> None:
    choice = {"type": "function", "name": "lookup"}
    body = (await create(client, input="weather in Oslo", tools=[TOOL], tool_choice=choice)).json()
    spec.validate("Response", body)
    (call,) = body["output"]
    assert call["type"] == "function_call"
    assert call["name"] == "lookup"
    assert json.loads(call["arguments"]) == {"text": "weather in Oslo"}
    assert call["id"].startswith("fc_")
    events = stream_events(
        await create(
            client, input="weather in Oslo", tools=[TOOL], tool_choice=choice, stream=True
        ),
        spec,
    )
    kinds = [e["type"] for e in events]
    assert kinds[2] == "response.output_item.added"
    assert "response.function_call_arguments.delta" in kinds
    done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
    assert json.loads(done["arguments"]) == {"text": "weather in Oslo"}
    # The call's output continues the conversation, as the Agents SDK sends it.
    follow_up = (
        await create(
            client,
            previous_response_id=body["id"],
            input=[{"type": "function_call_output", "call_id": call["call_id"], "output": "sunny"}],
        )
    ).json()
    assert output_text(follow_up).endswith(
        f"assistant:  [call lookup({call['arguments']})]\ntool: sunny [for {call['call_id']}]"
    )


async def test_store_false_keeps_nothing(client: httpx.AsyncClient) -> None:
    body = (await create(client, input="forget me", store=False)).json()
    assert body["store"] is False
    assert (await client.get(f"/v1/responses/{body['id']}")).status_code == 404
    again = await create(client, input="x", previous_response_id=body["id"])
    assert again.status_code == 404


async def test_input_items_are_listed_and_paged(
    client: httpx.AsyncClient, spec: SpecValidator
) -> None:
    items = [{"role": "user", "content": f"m{i}"} for i in range(5)]
    body = (await create(client, input=items)).json()
    url = f"/v1/responses/{body['id']}/input_items"
    listed = (await client.get(url)).json()
    spec.validate("ResponseItemList", listed)
    texts = [i["content"][0]["text"] for i in listed["data"]]
    assert texts == ["m4", "m3", "m2", "m1", "m0"]  # newest first by default
    page = (await client.get(url, params={"order": "asc", "limit": 2})).json()
    assert [i["content"][0]["text"] for i in page["data"]] == ["m0", "m1"]
    assert page["has_more"] is True
    rest = (await client.get(url, params={"order": "asc", "after": page["last_id"]})).json()
    assert [i["content"][0]["text"] for i in rest["data"]] == ["m2", "m3", "m4"]
    assert rest["has_more"] is False
    for bad in ({"limit": 0}, {"limit": "x"}, {"order": "up"}, {"after": "nope"}):
        r = await client.get(url, params=bad)
        assert r.status_code == 400
        assert r.json()["error"]["param"] == next(iter(bad))


async def test_delete_removes_it(client: httpx.AsyncClient) -> None:
    body = (await create(client, input="bye")).json()
    r = await client.delete(f"/v1/responses/{body['id']}")
    assert r.status_code == 200
    assert r.json() == {"id": body["id"], "object": "response", "deleted": True}
    assert (await client.get(f"/v1/responses/{body['id']}")).status_code == 404
    assert (await client.delete(f"/v1/responses/{body['id']}")).status_code == 404


async def test_one_key_cannot_see_or_continue_anothers_conversation(tmp_path: Path) -> None:
    s = settings(
        model_backend=TRANSCRIPT,
        api_keys="sk-alice,sk-bob",
        response_store=str(tmp_path / "responses.db"),
    )
    alice = {"Authorization": "Bearer sk-alice"}
    bob = {"Authorization": "Bearer sk-bob"}
    async with asgi_client(s) as c:
        body = {"model": "mock-model", "input": "secret"}
        made = (await c.post("/v1/responses", json=body, headers=alice)).json()
        rid = made["id"]
        assert (await c.get(f"/v1/responses/{rid}", headers=alice)).status_code == 200
        assert (await c.get(f"/v1/responses/{rid}", headers=bob)).status_code == 404
        assert (await c.get(f"/v1/responses/{rid}/input_items", headers=bob)).status_code == 404
        assert (await c.delete(f"/v1/responses/{rid}", headers=bob)).status_code == 404
        cont = {**body, "previous_response_id": rid}
        assert (await c.post("/v1/responses", json=cont, headers=bob)).status_code == 404
        ref = {**body, "input": [{"type": "item_reference", "id": made["output"][0]["id"]}]}
        assert (await c.post("/v1/responses", json=ref, headers=bob)).status_code == 404
        assert (await c.get(f"/v1/responses/{rid}", headers=alice)).status_code == 200


async def test_a_failure_mid_stream_ends_with_error_and_response_failed(
    tmp_path: Path, spec: SpecValidator
) -> None:
    s = settings(
        model_backend="tests.support.faulty_backends:FailsMidStream",
        response_store=str(tmp_path / "responses.db"),
    )
    async with asgi_client(s) as c:
        r = await c.post(
            "/v1/responses", json={"model": "mock-model", "input": "x", "stream": True}
        )
        events = stream_events(r, spec)
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    failed = events[-1]["response"]
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "server_error"
    assert "secret" not in r.text


async def test_without_its_store_only_what_needs_it_fails(tmp_path: Path) -> None:
    """Redis unreachable: 503 with Retry-After for requests that store or read; the rest works."""
    s = settings(response_store="redis://127.0.0.1:9/0")  # nothing listens on port 9
    async with asgi_client(s) as c:
        r = await c.post("/v1/responses", json={"model": "mock-model", "input": "x"})
        assert r.status_code == 503
        assert r.headers["retry-after"]
        assert r.json()["error"]["code"] == "store_unavailable"
        unstored = {"model": "mock-model", "input": "x", "store": False}
        assert (await c.post("/v1/responses", json=unstored)).status_code == 200
        assert (await c.get("/v1/responses/resp_x")).status_code == 503
        chat = {"model": "mock-model", "messages": [{"role": "user", "content": "hi"}]}
        assert (await c.post("/v1/chat/completions", json=chat)).status_code == 200


async def test_unknown_fields_are_named_as_ignored(client: httpx.AsyncClient) -> None:
    r = await create(client, input="x", reasoning={"effort": "low"}, frobnicate=1)
    assert r.status_code == 200
    assert r.headers["x-ignored-params"] == "frobnicate, reasoning"
    r = await create(
        client,
        input="x",
        text={"format": {"type": "text"}, "verbosity": "low"},
        include=["reasoning.encrypted_content"],
    )
    assert r.headers["x-ignored-params"] == "include.reasoning.encrypted_content, text.verbosity"


async def test_max_output_tokens_beyond_the_context_is_a_cap_fitted_to_it(
    client: httpx.AsyncClient,
) -> None:
    """What coding agents ask for (far more than a small model holds) is fitted to the context
    window and named, not refused: the answer ends where the model ends it, or the context."""
    r = await create(client, input="Hello", max_output_tokens=10**9)
    assert r.status_code == 200
    assert "max_output_tokens" in r.headers["x-ignored-params"].split(", ")
    assert r.json()["status"] == "completed"
