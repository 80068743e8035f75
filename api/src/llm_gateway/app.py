"""`create_app(settings)`: wires every part; the lifespan loads and unloads backends."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

import structlog
from fastapi import FastAPI

from . import __version__
from .auth import KeyRing
from .backends import Backend
from .backends.loader import create_backend
from .catalog import ModelSpec, served_models
from .config import Settings, SettingsError, load_settings
from .http_errors import install_error_handlers
from .middleware.auth import AuthMiddleware
from .middleware.body_limit import BodyLimitMiddleware
from .middleware.observe import ObserveMiddleware
from .middleware.rate_limit import RateLimitMiddleware
from .observability.logging import configure_logging
from .observability.metrics import Metrics
from .routes import chat, completions, embeddings, health, metrics, models, responses
from .routes.direct import direct_routes
from .routes.respond import ShutdownSignal
from .service import GenerationService, ModelRegistry
from .service.embeddings import EmbeddingsService
from .service.limits import Limits
from .service.openai_tokens import Cl100kDecoder
from .service.responses import ResponsesService
from .service.slots import Slots
from .store import open_store

log = structlog.get_logger("llm_gateway.app")


async def _load(backend: Backend[Any]) -> None:
    try:
        await backend.load()
        log.info("model_loaded", backend=backend.name)
    except Exception:
        log.exception("model_load_failed", backend=backend.name)
        raise


def _serve(
    registry: ModelRegistry,
    metrics: Metrics,
    settings: Settings,
    spec: ModelSpec,
    options: Mapping[str, Any] | None,
) -> None:
    """One model of the catalog: its backend (its own settings: the entry's, then the
    environment's), its slots per worker, its ids."""
    try:
        backend = create_backend(spec.backend, {**spec.settings, **(options or {})})
    except SettingsError as exc:
        raise SettingsError(f"{exc}\n  (in the settings of the model '{spec.id}')") from None
    backend.attach_metrics(metrics.upstreams)
    concurrency = spec.concurrency or settings.max_concurrent or backend.default_concurrency
    track = metrics.add_model(spec.id, backend.name)
    queue, timeout = settings.max_queue, settings.queue_timeout
    registry.add(
        backend,
        spec.ids,
        slots=Slots(concurrency, queue, timeout, on_change=track),
        # Embeddings have slots of their own: never waiting behind generation, nor it behind them.
        embedding_slots=Slots(concurrency, queue, timeout),
        owned_by=spec.owned_by,
        endpoints=frozenset(spec.endpoints) if spec.endpoints else None,
    )


def create_app(
    settings: Settings | None = None, *, backend_options: Mapping[str, Any] | None = None
) -> FastAPI:
    """The whole app. Each backend reads its own settings from the environment (and its
    MODELS_FILE entry); `backend_options` override them (tests)."""
    settings = settings or load_settings()
    configure_logging(settings)  # process-wide by nature; everything else is per app
    if not settings.auth_enabled:
        log.warning(
            "no_api_keys",
            message="API_KEYS is not set: every route is open to anyone who can reach it.",
        )
    app_metrics = Metrics(version=__version__)
    registry = ModelRegistry()
    for spec in served_models(settings):
        _serve(registry, app_metrics, settings, spec, backend_options)
    limits = Limits(
        max_n=settings.max_n,
        max_messages=settings.max_messages,
        max_prompt_chars=settings.max_prompt_chars,
        max_tools=settings.max_tools,
        max_tokens=settings.max_tokens,
    )
    service = GenerationService(registry, limits, keep_output=settings.log_content)
    store = open_store(settings.response_store, settings.response_ttl, settings.response_store_max)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Load in the background: /health answers at once, /ready says when models are up.
        loading = [asyncio.create_task(_load(b)) for b in registry.backends()]
        app.state.loading = loading
        try:
            yield
        finally:
            for task in loading:
                task.cancel()
            for b in registry.backends():
                await b.close()
            await store.close()

    app = FastAPI(
        title="llm-gateway",
        version=__version__,
        lifespan=lifespan,
        redirect_slashes=False,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.registry = registry
    app.state.service = service
    app.state.store = store
    app.state.metrics = app_metrics
    app.state.responses = ResponsesService(service, store)
    decoder = Cl100kDecoder(settings.cl100k_path)
    app.state.embeddings = EmbeddingsService(
        service, decoder if settings.embedding_token_ids == "cl100k_base" else None
    )
    # Set by the server (serving.Worker) when the graceful shutdown period is nearly over:
    # streams still open end with an error event, queued requests get a 503.
    app.state.shutting_down = ShutdownSignal()
    routers = (
        chat.router,
        completions.router,
        responses.router,
        embeddings.router,
        models.router,
        health.router,
        metrics.router,
    )
    for router in routers:
        app.include_router(router)
    # The generation endpoints answered by Starlette directly, in front of their documented
    # FastAPI twins (routes/direct.py).
    api_routes = [route for router in routers for route in router.routes]
    app.router.routes[:0] = direct_routes(api_routes)
    install_error_handlers(app)
    # The last added is the outermost: observation sees (and ids) the 401s, 429s and 413s
    # too; keys are checked, then rate limits, before a body is read.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.rate_limit_rpm:
        app.add_middleware(
            RateLimitMiddleware,
            requests_per_minute=settings.rate_limit_rpm,
            keyed_by_key=settings.auth_enabled,
            shared=store.shared_rate_limit(settings.rate_limit_rpm, 60.0),
        )
    app.add_middleware(
        AuthMiddleware,
        keys=KeyRing(settings.api_keys, settings.api_keys_file),
        metrics_token=settings.metrics_token,
    )
    app.add_middleware(
        ObserveMiddleware,
        metrics=app_metrics,
        routes=api_routes,
        log_content=settings.log_content,
    )
    return app
