"""Hot endpoints dispatched by Starlette directly.

FastAPI's route machinery (included routers, dependency solving, response serialization)
costs about 40 µs a request, a quarter of the gateway's whole overhead. The generation
endpoints need none of it: they take the `Request`, parse the body themselves and return a
`Response`. So each is also given a plain Starlette route in front of its FastAPI twin: the
twin still documents it in the OpenAPI schema, the plain route answers it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

Endpoint = TypeVar("Endpoint", bound=Callable[..., Awaitable[Any]])


def direct(endpoint: Endpoint) -> Endpoint:
    """Mark an endpoint `(request) -> Response` to be dispatched by Starlette directly."""
    endpoint.__dict__["dispatch_directly"] = True
    return endpoint


class DirectRoute(Route):
    """A Starlette route that, like FastAPI's, leaves itself in the scope (observability
    labels metrics by the route's template)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is Match.FULL:
            child["route"] = self
        return match, child


def direct_routes(routes: Iterable[BaseRoute]) -> list[Route]:
    return [
        DirectRoute(route.path, route.endpoint, methods=list(route.methods or ()))
        for route in routes
        if isinstance(route, APIRoute) and route.endpoint.__dict__.get("dispatch_directly")
    ]
