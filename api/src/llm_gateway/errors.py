"""Typed errors and the one mapping to the OpenAI error object.

Anything raised anywhere in the app ends up here: `api_error(exc)` is what the client is
told about it (an unexpected exception reveals nothing), and its `body()` is
`{"error": {"message", "type", "param", "code"}}`.
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

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


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


class QuotaExceeded(APIError):
    """A key's token budget is spent (OpenAI's answer when an account's quota is)."""

    status = 429
    type = "insufficient_quota"
    code = "insufficient_quota"


class ServiceUnavailable(APIError):
    status = 503
    type = "server_error"
    code = "service_unavailable"


class ServerShuttingDown(ServiceUnavailable):
    """The worker's graceful shutdown period is ending; another replica can take it (the
    SDKs retry a 503 with `Retry-After`)."""

    code = "server_shutdown"

    def __init__(self) -> None:
        super().__init__(
            "The server is shutting down; retry the request.", headers={"Retry-After": "1"}
        )


class BadGateway(APIError):
    """The upstream server could not be reached, or answered with something that is not the
    OpenAI protocol (`code` says which)."""

    status = 502
    type = "server_error"
    code = "upstream_unavailable"


class GatewayTimeout(APIError):
    """The upstream server did not answer (or stopped answering) within its timeout."""

    status = 504
    type = "server_error"
    code = "upstream_timeout"


class UpstreamError(APIError):
    """An OpenAI error answered by an upstream server, passed on with its own status and
    fields (a backend that forwards to another OpenAI-compatible server raises it)."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        type: str,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, param=param, code=code, headers=headers)
        self.status = status
        self.type = type


class InternalError(APIError):
    """What the client is told about any exception that is not an `APIError`."""

    status = 500
    type = "server_error"
    code = "internal_error"

    def __init__(self) -> None:
        super().__init__("The server had an error while processing your request.")


def api_error(exc: BaseException) -> APIError:
    """The one mapping: the error as the client sees it."""
    return exc if isinstance(exc, APIError) else InternalError()


# Anthropic's error `type` by HTTP status (its "HTTP errors" page and the SDK's error objects).
# A 503 is what the SDKs' `overloaded_error` means here (busy, retry); 504 is `timeout_error`.
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def anthropic_error_body(error: APIError) -> dict[str, Any]:
    """The same error as Anthropic's Messages API tells it: `{"type": "error", "error":
    {"type", "message"}}`. It has no `param` field, so the field to fix leads the message
    (as Anthropic's own messages do) unless the message already names it."""
    kind = _ANTHROPIC_TYPES.get(error.status)
    if kind is None:
        kind = "invalid_request_error" if 400 <= error.status < 500 else "api_error"
    message = error.message
    if error.param and error.param not in message:
        message = f"{error.param}: {message}"
    return {"type": "error", "error": {"type": kind, "message": message}}
