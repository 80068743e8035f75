"""Typed errors and the one mapping to the OpenAI error object.

Anything raised anywhere in the app ends up here: `error_body()` turns it into
`{"error": {"message", "type", "param", "code"}}`, and `status_of()` picks the HTTP status.
"""

from __future__ import annotations

from typing import Any


class APIError(Exception):
    """An error with everything the client needs to see. Safe to show as-is."""

    status: int = 500
    type: str = "server_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        self.headers = headers or {}


class InvalidRequest(APIError):
    status = 400
    type = "invalid_request_error"


class ContextLengthExceeded(InvalidRequest):
    code = "context_length_exceeded"


class Unauthorized(APIError):
    status = 401
    type = "invalid_request_error"
    code = "invalid_api_key"


class NotFound(APIError):
    status = 404
    type = "invalid_request_error"
    code = "not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class MethodNotAllowed(APIError):
    status = 405
    type = "invalid_request_error"
    code = "method_not_allowed"


class PayloadTooLarge(APIError):
    status = 413
    type = "invalid_request_error"
    code = "request_too_large"


class ClientClosedRequest(APIError):
    """The client hung up before its request was read: nobody sees the answer, but the log
    line and the metrics must not count it as a server error."""

    status = 499  # nginx's convention
    type = "invalid_request_error"
    code = "client_closed_request"


class RateLimited(APIError):
    status = 429
    type = "rate_limit_exceeded"
    code = "rate_limit_exceeded"


class ServiceUnavailable(APIError):
    status = 503
    type = "server_error"
    code = "service_unavailable"


class ServerShuttingDown(ServiceUnavailable):
    """The worker's graceful shutdown period is ending; another replica can take it."""

    code = "server_shutdown"


class BackendError(APIError):
    """The model backend failed; the message must not leak internals."""

    status = 500
    type = "server_error"
    code = "backend_error"


INTERNAL_MESSAGE = "The server had an error while processing your request."


def error_body(exc: BaseException) -> dict[str, Any]:
    """The OpenAI error object for any exception; unknown ones reveal nothing."""
    if isinstance(exc, APIError):
        return {
            "error": {
                "message": exc.message,
                "type": exc.type,
                "param": exc.param,
                "code": exc.code,
            }
        }
    return {
        "error": {
            "message": INTERNAL_MESSAGE,
            "type": "server_error",
            "param": None,
            "code": "internal_error",
        }
    }


def status_of(exc: BaseException) -> int:
    return exc.status if isinstance(exc, APIError) else 500


def error_type_of(exc: BaseException) -> str:
    return exc.type if isinstance(exc, APIError) else "server_error"
