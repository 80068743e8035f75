"""Object ids in the shape the APIs use: a type prefix and 32 hex digits."""

from __future__ import annotations

import uuid


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"
