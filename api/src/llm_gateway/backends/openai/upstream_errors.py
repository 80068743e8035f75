"""What the client is told when an upstream fails: its own OpenAI error when it sent a
well-formed one, else a 502/504 that says what went wrong, never the upstream's internals."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from ...errors import APIError, BadGateway, GatewayTimeout, UpstreamError

# The upstream's headers a client may act on; the others stay with the gateway.
_PASSED_HEADERS = ("retry-after",)


def unavailable(label: str) -> BadGateway:
    return BadGateway(f"The upstream server ({label}) could not be reached.")


def timed_out(label: str) -> GatewayTimeout:
    return GatewayTimeout(f"The upstream server ({label}) did not answer in time.")


def bad_response(label: str, what: str) -> BadGateway:
    return BadGateway(
        f"The upstream server ({label}) sent an invalid response: {what}.",
        code="upstream_bad_response",
    )


def from_transport(label: str, exc: httpx.RequestError) -> APIError:
    """A failure once the response had begun: the connection (or the body's encoding)."""
    if isinstance(exc, httpx.TimeoutException):
        return timed_out(label)
    if isinstance(exc, httpx.DecodingError):
        return bad_response(label, "a body that does not decode")
    return bad_response(label, "the connection closed mid-response")


def _error_object(body: Any) -> dict[str, Any] | None:
    """`{"error": {...}}` (OpenAI, vLLM, llama.cpp), `{"error": "text"}` (Ollama), or an error
    object at the top level (older vLLM)."""
    if not isinstance(body, dict):
        return None
    error = body.get("error", body)
    if isinstance(error, str):
        error = {"message": error}
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def from_error_body(
    label: str, status: int | None, payload: bytes | str, headers: httpx.Headers | None = None
) -> APIError:
    """An error response (`status`), or an error event inside a stream (`status` None), as
    the client's error: the upstream's own fields when they are an OpenAI error object."""
    if status in (401, 403):
        # The gateway's own key was refused: the client's key is not the problem.
        return BadGateway(
            f"The upstream server ({label}) refused the gateway's credentials (UPSTREAM_API_KEY).",
            code="upstream_unauthorized",
        )
    try:
        error = _error_object(orjson.loads(payload))
    except orjson.JSONDecodeError:
        error = None
    if error is None:
        what = f"status {status} without an OpenAI error body" if status else "a malformed event"
        return bad_response(label, what)
    if status is None:
        code = error.get("code")
        status = code if isinstance(code, int) and 400 <= code <= 599 else 502
    kept = {k: v for k in _PASSED_HEADERS if headers and (v := headers.get(k)) is not None}
    return UpstreamError(
        error["message"],
        status=status,
        type=_text(error.get("type"))
        or ("invalid_request_error" if status < 500 else "server_error"),
        param=_text(error.get("param")),
        code=_text(error.get("code")),
        headers={k.title(): v for k, v in kept.items()} or None,
    )
