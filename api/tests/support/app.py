"""How tests get the app in process (`asgi_client`): the real app, lifespan included, no
sockets, with mock-backed settings that ignore the developer's `.env`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI

from llm_gateway.app import create_app
from llm_gateway.config import Settings


def settings(**overrides: Any) -> Settings:
    """Mock-backed settings that ignore the developer's `.env`."""
    values: dict[str, Any] = {
        "model_backend": "mock",
        "model_id": "mock-model",
        "model_aliases": "gpt-3.5-turbo",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class AppClient(httpx.AsyncClient):
    """An httpx client wired to an app in this process; `app` is that app (its state)."""

    def __init__(self, app: FastAPI) -> None:
        super().__init__(transport=httpx.ASGITransport(app=app), base_url="http://test")
        self.app = app


@contextlib.asynccontextmanager
async def asgi_client(
    s: Settings | None = None,
    backend: dict[str, Any] | None = None,
    *,
    span_exporter: Any = None,
) -> AsyncIterator[AppClient]:
    """An in-process client: the real app, lifespan included, no sockets. `backend`: the
    backend's own settings (e.g. `mock_ttft_ms`); `span_exporter`: traces on, into it."""
    app = create_app(s or settings(), backend_options=backend, span_exporter=span_exporter)
    async with app.router.lifespan_context(app):
        for task in app.state.loading:
            await task
        async with AppClient(app) as client:
            yield client
