"""Exceptions → OpenAI error responses. The single place errors become HTTP."""

from __future__ import annotations

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import Scope

from .errors import APIError, InvalidRequest, MethodNotAllowed, NotFound, error_body, status_of


def error_response(exc: BaseException) -> Response:
    headers = exc.headers if isinstance(exc, APIError) else None
    return Response(
        orjson.dumps(error_body(exc)),
        status_code=status_of(exc),
        media_type="application/json",
        headers=headers,
    )


def remember_error(scope: Scope, exc: BaseException) -> None:
    """Leave the error where the observability middleware reads it (the request's state)."""
    scope.setdefault("state", {})["error"] = exc


def remembered_error(scope: Scope) -> BaseException | None:
    error = scope.get("state", {}).get("error")
    return error if isinstance(error, BaseException) else None


async def _api_error(request: Request, exc: Exception) -> Response:
    remember_error(request.scope, exc)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    where = f"({request.method} {request.url.path})"
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
    return await _api_error(request, mapped)


async def _validation_error(request: Request, exc: Exception) -> Response:
    return await _api_error(request, InvalidRequest(f"Invalid request: {exc}"))


async def _unexpected(request: Request, exc: Exception) -> Response:
    """Last resort only: the observability middleware catches, logs and answers unhandled
    errors first. Starlette re-raises after this handler, so the server logs it."""
    remember_error(request.scope, exc)
    return error_response(exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(APIError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
