"""The generation endpoints' own lane: a POST to one of the `BodyRoute`s' fixed paths goes
straight to its endpoint, past what Starlette and FastAPI would run for it and it does not
need — the exception middleware, FastAPI's exit-stack middleware, the router trying pattern
after pattern, the route's exception wrapper (together about 10 µs a request, and two `send`
wrappers per SSE event).

What those do for these routes, it does: the route in the scope (the metrics' label), the
errors the app's handlers answer (`APIError`, Starlette's HTTP errors, FastAPI's validation
errors) answered the same way (`send_error`), and anything else left to the observability
middleware, as before. Every other request goes the usual way.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import BaseRoute, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import APIError
from ..http_errors import send_error
from .openapi import BodyRoute

ANSWERED = (APIError, HTTPException, RequestValidationError)
"""What the app's exception handlers answer (`http_errors.install_error_handlers`); other
exceptions go up to the observability middleware."""


class BodyRouteDispatch:
    """Innermost middleware: `routes` with a fixed path, looked up by path."""

    def __init__(self, app: ASGIApp, *, routes: Iterable[BaseRoute], router: Router) -> None:
        self.app = app
        self.router = router
        self.routes = {
            route.path: route
            for route in routes
            if isinstance(route, BodyRoute) and not route.param_convertors
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = None
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            route = self.routes.get(scope["path"])
        if route is None:
            await self.app(scope, receive, send)
            return
        scope["route"], scope["endpoint"], scope["path_params"] = route, route.endpoint, {}
        scope.setdefault("router", self.router)
        started = False

        async def sender(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            response = await route.endpoint(Request(scope, receive, sender))
            await response(scope, receive, sender)
        except ANSWERED as exc:
            if started:  # as Starlette's wrapper does: nothing can be answered any more
                raise RuntimeError(
                    "Caught handled exception, but response already started."
                ) from exc
            await send_error(scope, receive, sender, exc)
