"""Request ids: the client's `X-Request-ID` when it is sane, else a fresh one."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

HEADER = b"x-request-id"
_VALID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id_from(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The first `x-request-id` header if valid (1..128 of [A-Za-z0-9._:-]); else uuid4 hex."""
    for name, value in headers:
        if name == HEADER:
            candidate = value.decode("latin-1")
            if _VALID.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex
