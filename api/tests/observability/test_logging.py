"""The canonical log line in one process (structlog capture), and what it must not hold."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from ..support.app import asgi_client, settings

CHAT_ROUTE = "/v1/chat/completions"


def chat(marker: str, **fields: Any) -> dict[str, Any]:
    messages = [{"role": "user", "content": f"please repeat {marker}"}]
    return {"model": "mock-model", "messages": messages, "max_tokens": 4, **fields}


@contextlib.contextmanager
def captured() -> Iterator[list[dict[str, Any]]]:
    # Entered after create_app (which configures structlog), so the capture wins.
    with capture_logs(processors=[merge_contextvars]) as logs:
        yield logs


def request_lines(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] == "request"]


async def test_one_line_per_request_with_its_id_and_numbers() -> None:
    async with asgi_client() as client:
        with captured() as logs:
            r = await client.post(CHAT_ROUTE, json=chat("x"), headers={"x-request-id": "req-1"})
    [line] = request_lines(logs)
    usage = r.json()["usage"]
    assert line["request_id"] == "req-1"
    assert line["log_level"] == "info"
    assert line["method"] == "POST" and line["path"] == CHAT_ROUTE and line["status"] == 200
    assert line["model"] == "mock-model" and line["backend"] == "mock"
    assert line["prompt_tokens"] == usage["prompt_tokens"]
    assert line["completion_tokens"] == usage["completion_tokens"] == 4
    assert line["ttft_ms"] >= 0 and line["duration_ms"] >= line["ttft_ms"]
    assert line["disconnected"] is False
    assert line["error_type"] is None


async def test_prompt_and_output_are_not_logged_by_default() -> None:
    marker = f"marker-{uuid.uuid4().hex}"
    async with asgi_client() as client:
        with captured() as logs:
            await client.post(CHAT_ROUTE, json=chat(marker))
            await client.post(CHAT_ROUTE, json=chat(marker, stream=True))
            await client.post("/v1/completions", json={"model": "mock-model", "prompt": marker})
    assert len(request_lines(logs)) == 3
    assert marker not in repr(logs)
    assert all("prompt" not in line and "output" not in line for line in logs)


async def test_log_content_adds_prompt_and_output_streams_included() -> None:
    marker = f"marker-{uuid.uuid4().hex}"
    async with asgi_client(settings(log_content=True)) as client:
        with captured() as logs:
            plain = await client.post(CHAT_ROUTE, json=chat(marker))
            await client.post(CHAT_ROUTE, json=chat(marker, stream=True))
            await client.post("/v1/completions", json={"model": "mock-model", "prompt": marker})
    chat_line, stream_line, text_line = request_lines(logs)
    for line in (chat_line, stream_line):
        assert line["prompt"] == [{"role": "user", "content": f"please repeat {marker}"}]
    assert chat_line["output"] == [plain.json()["choices"][0]["message"]["content"]]
    assert stream_line["output"] == chat_line["output"]  # same seed, same text
    assert text_line["prompt"] == [marker]
    assert text_line["output"][0]


async def test_an_unhandled_error_is_logged_once_and_answered_with_a_500() -> None:
    s = settings(model_backend="tests.support.faulty_backends:FailsMidStream")
    # support.app.asgi_client no longer needs raise_app_exceptions=False: nothing escapes the app.
    async with asgi_client(s) as client:
        with captured() as logs:
            r = await client.post(CHAT_ROUTE, json=chat("x"), headers={"x-request-id": "boom"})
    assert r.status_code == 500
    assert r.json()["error"]["type"] == "server_error"
    assert r.headers["x-request-id"] == "boom"
    errors = [e for e in logs if e["log_level"] in ("error", "critical")]
    assert len(errors) == 1, errors
    [line] = errors
    assert line["event"] == "request" and line["status"] == 500
    assert line["error_type"] == "server_error" and line["error_code"] == "internal_error"
    assert isinstance(line["exc_info"], RuntimeError)


async def test_an_error_event_mid_stream_is_on_the_line() -> None:
    s = settings(model_backend="tests.support.faulty_backends:FailsMidStream")
    async with asgi_client(s) as client:
        with captured() as logs:
            r = await client.post(CHAT_ROUTE, json=chat("x", stream=True))
    assert r.status_code == 200
    [line] = request_lines(logs)
    assert line["status"] == 200 and line["error_type"] == "server_error"
    assert [e["event"] for e in logs] == ["stream_failed", "request"]
