"""Errors → HTTP: the API's own error response for anything raised, in one place (OpenAI's
object, or Anthropic's on the Messages API's paths).

Every error answered anywhere (routes, middleware, the generation response) goes through
`send_error` or the handlers installed here, and is left on the request context where the
observability middleware reads it for the log line and the metrics.
"""

from __future__ import annotations

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .context import request_context
from .errors import (
    APIError,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    anthropic_error_body,
    api_error,
)


def http_api_error(exc: BaseException, scope: Scope) -> APIError:
    """`errors.api_error`, plus what Starlette and FastAPI raise themselves."""
    if isinstance(exc, StarletteHTTPException):
        where = f"({scope.get('method')} {scope.get('path')})"
        mapped: APIError
        if exc.status_code == 404:
            mapped = NotFound(f"Invalid URL {where}.")
        elif exc.status_code == 405:
            mapped = MethodNotAllowed(f"Method not allowed {where}.")
        else:
            mapped = APIError(str(exc.detail))
            mapped.status = exc.status_code
            mapped.type = "invalid_request_error" if exc.status_code < 500 else "server_error"
        # Starlette's own headers matter: a 405 must say which methods are allowed (`Allow`).
        mapped.headers = {**(exc.headers or {}), **mapped.headers}
        return mapped
    if isinstance(exc, RequestValidationError):
        return InvalidRequest(f"Invalid request: {exc}")
    return api_error(exc)


ANTHROPIC_PATHS = "/v1/messages"
"""Paths of the Anthropic Messages API: their errors take Anthropic's shape."""


def error_body(error: APIError, scope: Scope) -> dict[str, object]:
    """The error object of the API family the request's path belongs to."""
    if str(scope.get("path", "")).startswith(ANTHROPIC_PATHS):
        return anthropic_error_body(error)
    return error.body()


def error_response(error: APIError, scope: Scope) -> Response:
    return Response(
        orjson.dumps(error_body(error, scope)),
        status_code=error.status,
        media_type="application/json",
        headers=error.headers or None,
    )


def remember_error(scope: Scope, error: BaseException) -> None:
    """Leave the error where the observability middleware reads it (the request context)."""
    request_context(scope).error = error


async def send_error(scope: Scope, receive: Receive, send: Send, exc: BaseException) -> None:
    """Answer with the error (nothing may have been sent yet) and remember it."""
    error = http_api_error(exc, scope)
    remember_error(scope, error)
    await error_response(error, scope)(scope, receive, send)


async def _handle(request: Request, exc: Exception) -> Response:
    """For APIError, HTTP and validation errors raised inside routes. Unexpected exceptions
    are answered by the observability middleware (which logs them once, with the traceback);
    Starlette re-raises them after this handler as the last resort."""
    error = http_api_error(exc, request.scope)
    remember_error(request.scope, error)
    return error_response(error, request.scope)


def install_error_handlers(app: FastAPI) -> None:
    for kind in (APIError, StarletteHTTPException, RequestValidationError, Exception):
        app.add_exception_handler(kind, _handle)
