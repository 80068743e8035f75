"""What the fuzz tests (tests/fuzz) found, each pinned by a regular test."""

from __future__ import annotations

from typing import Any

import pytest
from structlog.testing import capture_logs

from llm_gateway.app import create_app

from ..support.app import asgi_client, settings

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    "key",
    [
        "\N{SUPERSCRIPT TWO}",  # str.isdigit() says yes, int() says no
        "\N{ETHIOPIC DIGIT ONE}",
        "\N{ARABIC-INDIC DIGIT ONE}",
        "9" * 5000,  # int() refuses more than 4300 digits
        "12345678901",
        " 1",
        "+1",
    ],
    ids=["superscript", "ethiopic", "arabic-indic", "5000 digits", "11 digits", "space", "plus"],
)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("route", ["/v1/chat/completions", "/v1/completions"])
async def test_logit_bias_keys_that_are_not_plain_token_ids_are_a_400_not_a_500(
    key: str, stream: bool, route: str
) -> None:
    body: dict[str, Any] = {"model": "mock-model", "logit_bias": {key: 1}, "stream": stream}
    body.update({"messages": MESSAGES} if "chat" in route else {"prompt": "hi"})
    async with asgi_client() as client:
        r = await client.post(route, json=body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == "logit_bias"
    assert error["type"] == "invalid_request_error"
    assert len(error["message"]) < 200


async def test_logit_bias_with_ascii_token_ids_still_works() -> None:
    async with asgi_client() as client:
        r = await client.post(
            "/v1/chat/completions",
            json={
                "model": "mock-model",
                "messages": MESSAGES,
                "logit_bias": {"0": 5, "50256": -100},
            },
        )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("route", ["/v1/chat/completions", "/v1/completions"])
async def test_a_client_that_hangs_up_mid_body_is_logged_as_499_not_as_a_server_error(
    route: str,
) -> None:
    app = create_app(settings())
    sent: list[dict[str, Any]] = []
    incoming = [
        {"type": "http.request", "body": b'{"model":"mock-model","mess', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": route,
        "raw_path": route.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8001),
    }
    async with app.router.lifespan_context(app):
        with capture_logs() as logs:
            await app(scope, receive, send)
    [line] = [e for e in logs if e["event"] == "request"]
    assert line["status"] == 499
    assert line["log_level"] == "info"
    assert line["error_code"] == "client_closed_request"
    assert "exc_info" not in line
    assert sent[0]["status"] == 499


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/v1/models", "GET"),
        ("GET", "/v1/embeddings", "POST"),
        ("PUT", "/v1/completions", "POST"),
        ("TRACE", "/health", "GET"),
    ],
)
async def test_a_405_says_which_methods_are_allowed(method: str, path: str, allowed: str) -> None:
    async with asgi_client() as client:
        r = await client.request(method, path)
    assert r.status_code == 405
    assert r.headers["allow"] == allowed
    assert r.json()["error"]["code"] == "method_not_allowed"
