"""The canonical log line from a real server: normal, streamed, refused and abandoned
requests, each on one JSON line written when its response really ended."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from ..support.scrape import scrape, value
from ..support.server import ServerProcess
from ..support.sse import sse_payloads

CHAT_ROUTE = "/v1/chat/completions"
MARKER = f"secret-marker-{uuid.uuid4().hex}"
TOKEN_MS = 50  # the observed server's mock: 50 ms between tokens, 200 tokens in all


def chat(**fields: Any) -> dict[str, Any]:
    messages = [{"role": "user", "content": f"do not log {MARKER}"}]
    return {"model": "mock-model", "messages": messages, "max_tokens": 3, **fields}


def disconnects(server: ServerProcess) -> float:
    samples = scrape(server.base_url)
    return value(samples, "llm_gateway_client_disconnects_total", model="mock-model")


@pytest.mark.parametrize("stream", [False, True])
def test_a_finished_request_has_one_line_with_its_numbers(
    observed_server: ServerProcess, stream: bool
) -> None:
    body = chat(stream=True, stream_options={"include_usage": True}) if stream else chat()
    r = httpx.post(f"{observed_server.base_url}{CHAT_ROUTE}", json=body, timeout=30)
    assert r.status_code == 200
    usage = sse_payloads(r.text)[-2]["usage"] if stream else r.json()["usage"]
    request_id = r.headers["x-request-id"]
    line = observed_server.request_line(request_id)
    assert [e for e in observed_server.log_records() if e.get("request_id") == request_id] == [line]
    assert line["level"] == "info" and line["logger"] == "llm_gateway.request"
    assert line["method"] == "POST" and line["path"] == CHAT_ROUTE and line["status"] == 200
    assert line["model"] == "mock-model" and line["backend"] == "mock"
    assert line["prompt_tokens"] == usage["prompt_tokens"]
    assert line["completion_tokens"] == usage["completion_tokens"] == 3
    # 3 tokens, 50 ms apart by construction: the line was written after the last one, not at
    # the first byte (its duration holds both gaps; 0.1 ms for the rounding to 0.01 ms).
    assert line["ttft_ms"] >= 0
    assert line["duration_ms"] - line["ttft_ms"] >= 2 * TOKEN_MS - 0.1
    assert line["disconnected"] is False and line["error_type"] is None
    assert line["pid"] in observed_server.worker_pids()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{nope", 400, None),
        (b'{"model": "mock-model", "messages": []}', 400, None),
        (b'{"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]}', 404,
         "model_not_found"),
    ],
)  # fmt: skip
def test_a_refused_request_has_its_status_and_error_type(
    observed_server: ServerProcess, body: bytes, status: int, code: str | None
) -> None:
    r = httpx.post(
        f"{observed_server.base_url}{CHAT_ROUTE}",
        content=body,
        headers={"content-type": "application/json", "x-request-id": f"refused-{status}"},
    )
    assert r.status_code == status
    line = observed_server.request_line(r.headers["x-request-id"])
    assert line["status"] == status
    assert line["error_type"] == "invalid_request_error"
    assert line["error_code"] == code
    assert line["model"] is None and line["completion_tokens"] is None


def test_a_client_that_leaves_mid_stream_is_logged_and_counted(
    observed_server: ServerProcess,
) -> None:
    before = disconnects(observed_server)
    url = f"{observed_server.base_url}{CHAT_ROUTE}"
    with (
        httpx.Client(timeout=30) as client,
        client.stream("POST", url, json=chat(stream=True, max_tokens=200)) as r,
    ):
        assert r.status_code == 200
        request_id = r.headers["x-request-id"]
        chunks = r.iter_bytes()
        next(chunks)
        next(chunks)
    # Leaving the block closed the connection after ~2 of 200 tokens (10 s of work).
    line = observed_server.request_line(request_id)
    assert line["disconnected"] is True
    assert line["status"] == 200  # the headers had gone out
    # The tokens made before the client left are accounted for, not the 200 asked for; and
    # the line was written then, not when all 200 would have been (199 gaps of 50 ms later).
    assert 0 < line["completion_tokens"] < 200
    assert line["duration_ms"] < 199 * TOKEN_MS
    assert disconnects(observed_server) == before + 1


def test_no_prompt_text_in_the_logs_by_default(observed_server: ServerProcess) -> None:
    r = httpx.post(f"{observed_server.base_url}{CHAT_ROUTE}", json=chat())
    observed_server.request_line(r.headers["x-request-id"])
    assert MARKER not in observed_server.log_path.read_text()
