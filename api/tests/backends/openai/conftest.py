from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from ...support.app import asgi_client, settings

# Short, so that the timeout tests finish quickly; nothing asserts on how long anything took.
READ_TIMEOUT = 0.5


@contextlib.asynccontextmanager
async def gateway(*urls: str, **options: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app in process with MODEL_BACKEND=openai in front of `urls`."""
    backend = {
        "upstream_base_url": ",".join(urls),
        "upstream_read_timeout": READ_TIMEOUT,
        "upstream_connect_timeout": 2.0,
        **options,
    }
    async with asgi_client(settings(model_backend="openai"), backend) as client:
        yield client
