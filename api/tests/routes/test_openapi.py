"""The app's own OpenAPI document describes the completion routes' bodies and answers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from jsonschema import Draft202012Validator

from llm_gateway.protocol.chat import ChatCompletionRequest
from llm_gateway.routes.openapi import request_schema

from ..support.strategies import chat_requests, completion_requests

ROUTES = {"/v1/chat/completions": ["model", "messages"], "/v1/completions": ["model", "prompt"]}


async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    doc: dict[str, Any] = r.json()
    return doc


async def test_completion_routes_document_their_request_bodies(client: httpx.AsyncClient) -> None:
    doc = await document(client)
    assert doc["openapi"].startswith("3.1")
    for path, required in ROUTES.items():
        body = doc["paths"][path]["post"]["requestBody"]
        assert body["required"] is True
        schema = body["content"]["application/json"]["schema"]
        assert schema["required"] == required
        assert "$defs" not in repr(schema)  # self-contained: nested models are inlined


async def test_completion_routes_document_json_sse_and_openai_errors(
    client: httpx.AsyncClient,
) -> None:
    doc = await document(client)
    error_ref = {"$ref": "#/components/schemas/ErrorResponse"}
    for path in ROUTES:
        responses = doc["paths"][path]["post"]["responses"]
        assert set(responses["200"]["content"]) == {"application/json", "text/event-stream"}
        for status in ("400", "404", "413", "429", "500"):
            assert responses[status]["content"]["application/json"]["schema"] == error_ref
        assert "422" not in responses  # validation failures are 400s here
    error = doc["components"]["schemas"]["ErrorObject"]
    assert error["required"] == ["message", "type", "param", "code"]


async def test_the_document_is_valid_openapi_3_1(client: httpx.AsyncClient) -> None:
    import openapi_spec_validator as validator

    validator.validate(await document(client))


def test_a_recursive_model_is_refused_rather_than_inlined_forever() -> None:
    from pydantic import BaseModel

    class Node(BaseModel):
        children: list[Node]

    with pytest.raises(ValueError, match="recursive"):
        request_schema(Node)


@pytest.mark.parametrize(
    ("path", "requests"),
    [("/v1/chat/completions", chat_requests), ("/v1/completions", completion_requests)],
)
def test_requests_the_server_accepts_validate_against_the_document(
    path: str, requests: Any
) -> None:
    from llm_gateway.protocol.completions import CompletionRequest

    model = ChatCompletionRequest if "chat" in path else CompletionRequest
    validator = Draft202012Validator(request_schema(model))

    @given(body=requests)
    @settings(max_examples=50, derandomize=True, database=None, deadline=None)
    def run(body: dict[str, Any]) -> None:
        model.model_validate(body)
        validator.validate(body)

    run()
