"""Reading request headers straight from an ASGI scope."""

from __future__ import annotations

from starlette.types import Scope


def first_header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a header (`name` in lower case, as ASGI gives them)."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None
