"""The official `openai` SDK against a real gunicorn server with 2 workers: the Responses API
(plain, streamed, retrieve, input items, delete) and embeddings (base64 and float); a stored
conversation continues whichever worker serves each turn (the workers share a SQLite store).
Every body and event is validated against the official spec."""

from __future__ import annotations

import base64
import struct
from pathlib import Path

import httpx
import openai
import pytest

from ..support.paths import REPO_ROOT
from ..support.server import ServerProcess, server_fixture
from ..support.spec import SpecValidator, validate_response_event

pytestmark = pytest.mark.server


# Its stored responses go to a SQLite file of its own, which both workers share.
server = server_fixture(
    {
        "WORKERS": "2",
        "MODEL_BACKEND": "tests.support.scripted_backend:Transcript",
        "PYTHONPATH": str(REPO_ROOT / "api"),
        "CL100K_PATH": str(REPO_ROOT / "models/cl100k_base.tiktoken"),
    }
)


def sdk(server: ServerProcess) -> openai.OpenAI:
    # A new connection per request, so the kernel spreads turns over both workers.
    http = httpx.Client(headers={"Connection": "close"}, timeout=30)
    return openai.OpenAI(
        base_url=server.base_url + "/v1", api_key="unused", http_client=http, max_retries=0
    )


def test_create_retrieve_list_delete(server: ServerProcess, spec: SpecValidator) -> None:
    client = sdk(server)
    created = client.responses.create(model="mock-model", input="Hello", instructions="Hi.")
    spec.validate("Response", created.model_dump(exclude_unset=True, by_alias=True))
    assert created.status == "completed"
    assert created.output_text == "system: Hi.\nuser: Hello"
    got = client.responses.retrieve(created.id)
    assert got.model_dump() == created.model_dump()
    items = client.responses.input_items.list(created.id)
    assert [item.type for item in items.data] == ["message"]
    client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError) as info:
        client.responses.retrieve(created.id)
    assert info.value.status_code == 404
    assert info.value.body["param"] == "response_id"  # type: ignore[index]


def test_a_streamed_response(server: ServerProcess, spec: SpecValidator) -> None:
    client = sdk(server)
    events = list(client.responses.create(model="mock-model", input="Tell me", stream=True))
    for event in events:
        validate_response_event(spec, event.model_dump(exclude_unset=True, by_alias=True))
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[0].type == "response.created"
    assert events[-1].type == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "user: Tell me"
    with client.responses.stream(model="mock-model", input="Tell me") as stream:
        final = stream.get_final_response()
    assert final.output_text == text


def test_a_conversation_continues_whichever_worker_serves_each_turn(
    server: ServerProcess,
) -> None:
    client = sdk(server)
    previous = client.responses.create(model="mock-model", input="turn 0")
    ids = [previous.id]
    for turn in range(1, 40):
        previous = client.responses.create(
            model="mock-model", input=f"turn {turn}", previous_response_id=previous.id
        )
        ids.append(previous.id)
        lines = previous.output_text.split("\n")
        assert lines[0] == "user: turn 0" and lines[-1] == f"user: turn {turn}"
        served_by = {
            r["pid"]
            for r in server.log_records()
            if r.get("event") == "request" and r.get("path") == "/v1/responses"
        }
        if turn >= 3 and len(served_by) == 2:
            break
    assert len(served_by) == 2, "every turn went to one worker: nothing was proven"


def test_embeddings_base64_and_float(server: ServerProcess, spec: SpecValidator) -> None:
    client = sdk(server)
    default = client.embeddings.create(model="mock-model", input=["one", "two"])  # base64
    assert [d.index for d in default.data] == [0, 1]
    raw = httpx.post(
        server.base_url + "/v1/embeddings",
        json={"model": "mock-model", "input": ["one", "two"], "encoding_format": "base64"},
    ).json()
    spec.validate("CreateEmbeddingResponse", raw)
    decoded = base64.b64decode(raw["data"][0]["embedding"])
    floats = list(struct.unpack(f"<{len(decoded) // 4}f", decoded))
    explicit = client.embeddings.create(
        model="mock-model", input=["one", "two"], encoding_format="float"
    )
    spec.validate("CreateEmbeddingResponse", explicit.model_dump(exclude_unset=True, by_alias=True))
    assert default.data[0].embedding == pytest.approx(explicit.data[0].embedding, abs=1e-6)
    assert floats == pytest.approx(explicit.data[0].embedding, abs=1e-6)
    assert sum(x * x for x in floats) == pytest.approx(1.0, abs=1e-4)
    short = client.embeddings.create(model="mock-model", input="one", dimensions=8)
    assert len(short.data[0].embedding) == 8


def test_langchain_embeddings_send_token_ids_that_work(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LangChain's OpenAIEmbeddings tokenizes with tiktoken (cl100k_base) and sends token-id
    arrays; the server reads them back as the text they came from."""
    from langchain_openai import OpenAIEmbeddings

    # tiktoken looks for cl100k_base in its cache (it cannot download it here).
    cache = tmp_path / "tiktoken"
    cache.mkdir()
    (cache / "9b5ad71b2ce5302211f9c61530b329a4922fc6a4").write_bytes(
        (REPO_ROOT / "models/cl100k_base.tiktoken").read_bytes()
    )
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    sent: list[object] = []

    def record(request: httpx.Request) -> None:
        sent.append(request.content)

    embeddings = OpenAIEmbeddings(
        model="mock-model",
        base_url=server.base_url + "/v1",
        api_key="unused",  # type: ignore[arg-type]
        http_client=httpx.Client(event_hooks={"request": [record]}),
    )
    texts = ["The quick brown fox", "jumps over the lazy dog"]
    vectors = embeddings.embed_documents(texts)
    assert len(vectors) == 2 and len(vectors[0]) == 384
    assert b'"input":[[' in sent[0]  # token ids, not strings
    # The same vectors as for the plain strings: the ids were read back as the same text.
    plain = sdk(server).embeddings.create(model="mock-model", input=texts, encoding_format="float")
    for got, want in zip(vectors, plain.data, strict=True):
        assert got == pytest.approx(want.embedding, abs=1e-5)
