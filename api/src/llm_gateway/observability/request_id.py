"""Request ids: the client's `X-Request-ID` when it is sane, else a fresh one."""

from __future__ import annotations

import os
import re

from starlette.datastructures import Headers

HEADER = "x-request-id"
_VALID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id_from(headers: Headers) -> str:
    """The first `x-request-id` header if valid (1..128 of [A-Za-z0-9._:-]); else 32 random
    hex digits (uuid4's shape, without building a UUID)."""
    candidate = headers.get(HEADER)
    if candidate is not None and _VALID.fullmatch(candidate):
        return candidate
    return os.urandom(16).hex()
