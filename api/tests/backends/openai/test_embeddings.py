"""`embed()` through the openai backend, against an upstream's /embeddings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from llm_gateway.backends import EmbeddingRequest
from llm_gateway.backends.loader import create_backend
from llm_gateway.backends.openai import OpenAIBackend
from llm_gateway.errors import BadGateway, UpstreamError

from ...support.fake_upstream import Exchange, FakeUpstream, fake_upstream
from ...support.spec import SpecValidator


def embeddings_answer(spec: SpecValidator | None = None, shuffle: bool = True) -> Any:
    """Vectors [i, len(input)] in reverse order (the index says which is which)."""

    async def handler(ex: Exchange) -> None:
        inputs = ex.body["input"]
        size = ex.body.get("dimensions", 2)
        data = [
            {"object": "embedding", "index": i, "embedding": [float(i)] + [0.5] * (size - 1)}
            for i in range(len(inputs))
        ]
        body = {
            "object": "list",
            "data": data[::-1] if shuffle else data,
            "model": ex.body["model"],
            "usage": {"prompt_tokens": 7, "total_tokens": 7},
        }
        if spec is not None:
            spec.validate("CreateEmbeddingResponse", body)
        await ex.respond(200, body)

    return handler


@pytest.fixture
async def backend_for() -> AsyncIterator[Any]:
    backends: list[OpenAIBackend] = []

    async def start(up: FakeUpstream, **options: Any) -> OpenAIBackend:
        backend = create_backend("openai", {"upstream_base_url": up.base_url, **options})
        assert isinstance(backend, OpenAIBackend)
        await backend.load()
        backends.append(backend)
        return backend

    yield start
    for backend in backends:
        await backend.close()


async def test_texts_are_embedded_in_order_with_dimensions_forwarded(
    backend_for: Any, spec: SpecValidator
) -> None:
    assert OpenAIBackend.supports_embeddings and OpenAIBackend.supports_dimensions
    with fake_upstream(embeddings_answer(spec)) as up:
        backend = await backend_for(up)
        result = await backend.embed(
            EmbeddingRequest(inputs=("a", "b", "c"), dimensions=3, model="text-embedder")
        )
    assert up.requests[0].path == "/v1/embeddings"
    assert up.bodies == [
        {
            "model": "text-embedder",
            "input": ["a", "b", "c"],
            "encoding_format": "float",
            "dimensions": 3,
        }
    ]
    assert result.vectors == [[0.0, 0.5, 0.5], [1.0, 0.5, 0.5], [2.0, 0.5, 0.5]]
    assert result.prompt_tokens == 7


async def test_token_ids_are_forwarded_as_lists_and_upstream_model_wins(backend_for: Any) -> None:
    with fake_upstream(embeddings_answer()) as up:
        backend = await backend_for(up, upstream_model="nomic-embed-text")
        result = await backend.embed(EmbeddingRequest(inputs=((1, 2, 3),), model="alias"))
    assert up.bodies[0]["input"] == [[1, 2, 3]]
    assert up.bodies[0]["model"] == "nomic-embed-text"
    assert "dimensions" not in up.bodies[0]
    assert len(result.vectors) == 1


@pytest.mark.parametrize(
    "answer",
    [
        {"data": [{"index": 0, "embedding": "AAAAAA=="}]},  # base64, though floats were asked
        {"data": [{"index": 1, "embedding": [0.1]}]},  # the wrong input
        {"data": []},
        b"not json",
        b'{"data": [{"index": 0, "embedding": [0.1, 0.',  # a truncated JSON body
    ],
    ids=["base64", "wrong-index", "missing", "not-json", "truncated-json"],
)
async def test_a_malformed_answer_is_a_502(backend_for: Any, answer: Any) -> None:
    async def handler(ex: Exchange) -> None:
        await ex.respond(200, answer)

    with fake_upstream(handler) as up:
        backend = await backend_for(up)
        with pytest.raises(BadGateway) as info:
            await backend.embed(EmbeddingRequest(inputs=("a",), model="m"))
    assert info.value.code == "upstream_bad_response"


async def test_an_upstream_error_is_passed_on(backend_for: Any) -> None:
    async def handler(ex: Exchange) -> None:
        error = {"message": "Too long.", "type": "invalid_request_error", "param": "input"}
        await ex.respond(400, {"error": {**error, "code": None}})

    with fake_upstream(handler) as up:
        backend = await backend_for(up)
        with pytest.raises(UpstreamError) as info:
            await backend.embed(EmbeddingRequest(inputs=("a",), model="m"))
    error = info.value
    assert (error.status, error.type, error.param, error.message) == (
        400,
        "invalid_request_error",
        "input",
        "Too long.",
    )
