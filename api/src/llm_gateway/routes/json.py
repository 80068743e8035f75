"""A JSON response body, encoded once with orjson."""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.responses import Response

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


def ignored_params(fields: list[str]) -> dict[str, str]:
    """The `x-ignored-params` header: request fields nothing on this server honours (names
    are the client's: anything outside [A-Za-z0-9_.-] becomes `_`, at most 64 characters)."""
    safe = [_UNSAFE.sub("_", f)[:64] for f in fields]
    return {"x-ignored-params": ", ".join(safe)} if safe else {}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )
