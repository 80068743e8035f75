"""`create_app(settings)`: wires every part; the lifespan loads and unloads backends."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import structlog
from fastapi import FastAPI

from . import __version__
from .auth import KeyRing
from .backends import Backend
from .backends.loader import create_backend
from .catalog import ModelSpec, served_models
from .client_address import TrustedProxies, parse_networks
from .config import Settings, SettingsError, load_settings
from .http_errors import install_error_handlers
from .lifecycle import ShutdownSignal, StartFailure
from .middleware.auth import AuthMiddleware
from .middleware.body_limit import BodyLimitMiddleware
from .middleware.observe import ObserveMiddleware
from .middleware.quota import QuotaMiddleware
from .middleware.rate_limit import RateLimitMiddleware
from .observability.logging import configure_logging
from .observability.metrics import Metrics
from .routes import (
    chat,
    completions,
    conversations,
    embeddings,
    health,
    messages,
    metrics,
    models,
    responses,
    stored_chat,
    usage,
)
from .routes.dispatch import BodyRouteDispatch
from .routes.gateway import Gateway
from .routes.openapi import document
from .service import ModelRegistry
from .service.admission import Admission
from .service.limits import Limits
from .service.quotas import Quotas
from .store import open_store
from .translate.openai_tokens import Cl100kDecoder

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

    from .observability.tracing import Tracing

log = structlog.get_logger("llm_gateway.app")


async def _load(backend: Backend[Any], failure: StartFailure) -> None:
    """A model that cannot be loaded stops the server (`StartFailure`), with the reason in
    one log line: a server that answers /health but never becomes ready helps nobody."""
    try:
        await backend.load()
        log.info("model_loaded", backend=backend.name)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        # The operator's mistakes (a missing, corrupt or too large model) need no traceback.
        expected = isinstance(exc, OSError | ValueError | MemoryError)
        log.error("model_load_failed", backend=backend.name, reason=reason, exc_info=not expected)
        failure.fail(f"the model of backend '{backend.name}' could not be loaded: {reason}")


def _serve(
    registry: ModelRegistry,
    metrics: Metrics,
    settings: Settings,
    spec: ModelSpec,
    options: Mapping[str, Any] | None,
) -> None:
    """One model of the catalog: its backend (its own settings: the entry's, then the
    environment's), its admission per worker, its ids."""
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
        admission=Admission(concurrency, queue, timeout, on_change=track),
        # Embeddings are admitted apart: never waiting behind generation, nor it behind them.
        embedding_admission=Admission(concurrency, queue, timeout),
        owned_by=spec.owned_by,
        endpoints=frozenset(spec.endpoints) if spec.endpoints else None,
    )


def _tracing(settings: Settings, metrics: Metrics, exporter: SpanExporter | None) -> Tracing | None:
    """Traces when OTEL_EXPORTER_OTLP_ENDPOINT is set (or a test gives its exporter)."""
    if exporter is None and not settings.otel_exporter_otlp_endpoint:
        return None  # the SDK is not even imported
    try:
        from .observability.tracing import Tracing, otlp_exporter
    except ImportError as exc:
        raise SettingsError(
            "invalid configuration:\n  OTEL_EXPORTER_OTLP_ENDPOINT is set but the OpenTelemetry "
            f"SDK is not installed ({exc.name}): pip install 'llm-gateway[otel]'"
        ) from None
    return Tracing(
        exporter or otlp_exporter(settings.otel_exporter_otlp_endpoint or ""),
        service_name=settings.otel_service_name,
        version=__version__,
        on_dropped=metrics.spans_dropped.inc,
        log_content=settings.log_content,
        batch=exporter is None,
    )


def create_app(
    settings: Settings | None = None,
    *,
    backend_options: Mapping[str, Any] | None = None,
    span_exporter: SpanExporter | None = None,
) -> FastAPI:
    """The whole app. Each backend reads its own settings from the environment (and its
    MODELS_FILE entry); `backend_options` override them (tests). `span_exporter`: traces go
    there, synchronously (tests: the SDK's in-memory exporter)."""
    settings = settings or load_settings()
    configure_logging(settings)  # process-wide by nature; everything else is per app
    if not settings.auth_enabled:
        log.warning(
            "no_api_keys",
            message="API_KEYS is not set: every route is open to anyone who can reach it.",
        )
    app_metrics = Metrics(version=__version__)
    tracing = _tracing(settings, app_metrics, span_exporter)
    registry = ModelRegistry()
    for spec in served_models(settings):
        _serve(registry, app_metrics, settings, spec, backend_options)
    if settings.default_model:
        try:
            registry.fall_back_to(settings.default_model)
        except ValueError as exc:
            raise SettingsError(f"invalid configuration:\n  {exc}") from None
    limits = Limits(
        max_n=settings.max_n,
        max_messages=settings.max_messages,
        max_prompt_chars=settings.max_prompt_chars,
        max_tools=settings.max_tools,
        max_tokens=settings.max_tokens,
    )
    store = open_store(settings.response_store, settings.response_ttl, settings.response_store_max)
    try:
        keys = KeyRing(settings.api_keys, settings.api_keys_file)
    except ValueError as exc:
        raise SettingsError(f"invalid configuration:\n  {exc}") from None
    quotas: Quotas | None = None
    if keys.enabled:
        quotas = Quotas(keys.quotas, store, on_store_error=app_metrics.keys.store_failed)
        app_metrics.keys.start_at_zero(keys.names, Quotas.STORE_OPERATIONS)
        for name, quota in keys.quotas.items():
            if quota.tokens_per_day is not None:
                app_metrics.keys.quota(name, "tokens_per_day", quota.tokens_per_day)
            if quota.requests_per_minute is not None:
                app_metrics.keys.quota(name, "requests_per_minute", quota.requests_per_minute)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Load in the background: /health answers at once, /ready says when models are up.
        loading = [asyncio.create_task(_load(b, failure)) for b in registry.backends()]
        app.state.loading = loading
        try:
            yield
        finally:
            for task in loading:
                task.cancel()
            for b in registry.backends():
                await b.close()
            await store.close()
            if tracing is not None:
                await asyncio.to_thread(tracing.shutdown)  # what is queued goes out

    app = FastAPI(
        title="llm-gateway",
        version=__version__,
        lifespan=lifespan,
        redirect_slashes=False,
        # Our own metrics and log lines observe every request; FastAPI's OpenTelemetry hooks
        # would cost a check per request for nothing.
        telemetry={"tracing": False, "metrics": False, "logs": False, "auto_configure": False},
        docs_url="/docs",
        redoc_url=None,
    )
    # Set by the server (serving.Worker) when the graceful shutdown period is nearly over:
    # streams still open end with an error event, queued requests get a 503.
    app.state.shutting_down = shutdown = ShutdownSignal()
    app.state.start_failure = failure = StartFailure()
    app.state.registry = registry
    app.state.metrics = app_metrics
    app.state.quotas = quotas
    app.state.tracing = tracing
    app.state.gateway = Gateway(
        models=registry,
        limits=limits,
        store=store,
        shutdown=shutdown,
        token_decoder=Cl100kDecoder(settings.cl100k_path)
        if settings.embedding_token_ids == "cl100k_base"
        else None,
        keep_output=settings.log_content,
        keepalive=settings.stream_keepalive_seconds,
    )
    # The generation endpoints: Starlette routes that parse their own bodies (routes/openapi.py),
    # first in the list so that a request is matched against them before FastAPI's own routes.
    # The router tries one path pattern after another: the busiest generation routes first
    # (each pattern tried costs about half a microsecond).
    app.router.routes[:0] = [
        *chat.routes,
        *messages.routes,
        *completions.routes,
        *responses.routes,
        *conversations.routes,
        *stored_chat.routes,
        *embeddings.routes,
    ]
    for router in (
        responses.router,
        conversations.router,
        stored_chat.router,
        models.router,
        usage.router,
        health.router,
        metrics.router,
    ):
        app.include_router(router)
    api_routes = list(app.router.routes)
    fastapi_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(fastapi_openapi(), api_routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    install_error_handlers(app)
    # The last added is the outermost: observation sees (and ids) the 401s, 429s and 413s
    # too; keys are checked, then rate limits, before a body is read. Innermost, the
    # generation endpoints' own lane (routes/dispatch.py).
    app.add_middleware(BodyRouteDispatch, routes=api_routes, router=app.router)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if quotas is not None:
        app.add_middleware(QuotaMiddleware, quotas=quotas)
    if settings.rate_limit_rpm:
        app.add_middleware(
            RateLimitMiddleware,
            requests_per_minute=settings.rate_limit_rpm,
            keyed_by_key=settings.auth_enabled,
            shared=store.shared_rate_limit(settings.rate_limit_rpm, 60.0),
        )
    app.add_middleware(
        AuthMiddleware,
        keys=keys,
        metrics_token=settings.metrics_token,
    )
    app.add_middleware(
        ObserveMiddleware,
        metrics=app_metrics,
        routes=api_routes,
        log_content=settings.log_content,
        trusted_proxies=TrustedProxies(parse_networks(settings.trusted_proxies)),
        tracing=tracing,
    )
    return app
