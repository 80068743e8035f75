"""examples/custom_backend.py, loaded as a user would: MODEL_BACKEND=examples.custom_backend:
PassageAnswerer with the repository root on the import path, its settings from the environment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..support.app import asgi_client, settings
from ..support.paths import REPO_ROOT
from ..support.spec import SpecValidator
from ..support.sse import sse_payloads

BACKEND = "examples.custom_backend:PassageAnswerer"


def write_documents(folder: Path) -> Path:
    (folder / "tea.md").write_text(
        "# Tea\n\nGreen tea is steamed or pan fired soon after picking, which keeps it green.\n\n"
        "Black tea leaves are fully oxidised before drying, which darkens them.\n"
    )
    (folder / "bikes.md").write_text(
        "Bicycle chains need oil every few hundred kilometres, more often in the rain.\n\n"
        "Tyre pressure for road bicycles is usually between six and eight bar.\n"
    )
    (folder / "notes.txt").write_text("Green chains of oxidised tea are not read: wrong glob.\n")
    return folder


@pytest.fixture
async def client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.syspath_prepend(str(REPO_ROOT))  # as gunicorn does with its working directory
    monkeypatch.setenv("PASSAGES_DIR", str(write_documents(tmp_path)))
    monkeypatch.setenv("PASSAGES_TOP", "1")
    async with asgi_client(settings(model_backend=BACKEND)) as c:
        yield c


async def ask(client: httpx.AsyncClient, question: str, **extra: Any) -> httpx.Response:
    return await client.post(
        "/v1/chat/completions",
        json={"model": "mock-model", "messages": [{"role": "user", "content": question}], **extra},
    )


async def test_it_answers_with_the_best_passage_citing_its_file(
    client: httpx.AsyncClient, spec: SpecValidator
) -> None:
    r = await ask(client, "How often should I oil my bicycle chain?")
    assert r.status_code == 200, r.text
    body = r.json()
    spec.validate("CreateChatCompletionResponse", body)
    answer = body["choices"][0]["message"]["content"]
    assert answer.startswith("Bicycle chains need oil")
    assert answer.endswith("[bikes.md]")
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["completion_tokens"] == len(answer.split())
    tea = (await ask(client, "Why is black tea dark?")).json()["choices"][0]["message"]["content"]
    assert tea == "Black tea leaves are fully oxidised before drying, which darkens them. [tea.md]"
    nothing = await ask(client, "Who won the match?")
    assert nothing.json()["choices"][0]["message"]["content"] == (
        "I found nothing about that in my documents."
    )


async def test_it_streams_word_by_word_the_same_answer(
    client: httpx.AsyncClient, spec: SpecValidator
) -> None:
    folded = (await ask(client, "tyre pressure")).json()
    r = await ask(client, "tyre pressure", stream=True, stream_options={"include_usage": True})
    events = sse_payloads(r.text)
    assert events[-1] == "[DONE]"
    for event in events[:-1]:
        spec.validate("CreateChatCompletionStreamResponse", event)
    words = [e["choices"][0]["delta"].get("content") for e in events[1:-3]]
    assert len(words) == len(folded["choices"][0]["message"]["content"].split())
    assert "".join(words) == folded["choices"][0]["message"]["content"]
    assert events[-2]["usage"] == folded["usage"]


async def test_it_honours_max_tokens_stop_and_completions(
    client: httpx.AsyncClient, spec: SpecValidator
) -> None:
    short = (await ask(client, "green tea", max_tokens=3)).json()
    assert short["choices"][0]["message"]["content"] == "Green tea is"
    assert short["choices"][0]["finish_reason"] == "length"
    stopped = (await ask(client, "green tea", stop=["fired"])).json()
    assert stopped["choices"][0]["message"]["content"] == "Green tea is steamed or pan "
    assert stopped["choices"][0]["finish_reason"] == "stop"
    r = await client.post(
        "/v1/completions", json={"model": "mock-model", "prompt": "black tea", "max_tokens": 4}
    )
    body = r.json()
    spec.validate("CreateCompletionResponse", body)
    assert body["choices"][0]["text"] == "Black tea leaves are"


async def test_a_chat_without_a_user_message_is_a_400(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/chat/completions",
        json={"model": "mock-model", "messages": [{"role": "system", "content": "Hi"}]},
    )
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "messages"
