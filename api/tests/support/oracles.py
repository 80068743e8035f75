"""What every fuzzed answer must satisfy, whatever was sent."""

from __future__ import annotations

import json
from typing import Any

from llm_gateway.protocol.errors import AnthropicErrorResponse, ErrorResponse


def openai_error(body: bytes | str) -> dict[str, Any]:
    """The body parsed as an OpenAI error object `{"error": {message, type, param, code}}`
    (exactly those keys; `param` and `code` a string or null), or an AssertionError."""
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise AssertionError(f"error body is not JSON: {body[:300]!r}") from exc
    assert isinstance(payload, dict) and set(payload) == {"error"}, payload
    error = payload["error"]
    assert isinstance(error, dict), payload
    assert set(error) == {"message", "type", "param", "code"}, payload
    assert isinstance(error["message"], str) and error["message"], payload
    assert isinstance(error["type"], str) and error["type"], payload
    assert error["param"] is None or isinstance(error["param"], str), payload
    assert error["code"] is None or isinstance(error["code"], str), payload
    ErrorResponse.model_validate(payload)
    return error


def check_answer(status: int, body: bytes | str, content_type: str) -> None:
    """200 or a 4xx OpenAI error; never a 5xx."""
    assert status < 500, f"server error {status}: {body[:500]!r}"
    if status >= 400:
        assert content_type.startswith("application/json"), content_type
        error = openai_error(body)
        assert error["type"] != "server_error", error


def anthropic_error(body: bytes | str) -> dict[str, Any]:
    """The body parsed as Anthropic's error object `{"type": "error", "error": {type,
    message}}` (exactly those keys), or an AssertionError."""
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise AssertionError(f"error body is not JSON: {body[:300]!r}") from exc
    assert isinstance(payload, dict) and set(payload) == {"type", "error"}, payload
    assert payload["type"] == "error", payload
    assert set(payload["error"]) == {"type", "message"}, payload
    assert payload["error"]["message"] and payload["error"]["type"], payload
    AnthropicErrorResponse.model_validate(payload)
    return payload
