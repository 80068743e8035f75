"""Routes that parse their own bodies, and their OpenAPI descriptions.

The generation routes read the raw body (so every validation failure is a 400 that names the
field, never FastAPI's 422), which leaves FastAPI nothing to describe: each is one Starlette
route (`BodyRoute`) whose operation is built here from its protocol model, and added to the
schema FastAPI makes for its own routes (`document`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Scope

from ..protocol.errors import AnthropicErrorResponse, ErrorResponse

_DEFS = "#/$defs/"
_COMPONENTS = "#/components/schemas/"

_ERROR_STATUSES = {
    400: "Malformed JSON, a wrong type or an out-of-range value (`param` names the field).",
    401: "A missing or wrong API key (only when the server has keys).",
    404: "The model does not exist.",
    413: "The body is larger than the server's MAX_BODY_BYTES.",
    429: "The queue is full; retry after `Retry-After` seconds.",
    500: "The backend failed; the message reveals no internals.",
    503: "The model is still loading, or the server is shutting down.",
}


def _inline(node: Any, defs: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """Replace each `$ref` into `$defs` by the definition itself, so the schema stands alone
    inside an operation (FastAPI builds `components` only from models it parses itself)."""
    if isinstance(node, list):
        return [_inline(item, defs, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(_DEFS):
        name = ref[len(_DEFS) :]
        if name in seen:
            raise ValueError(f"recursive model {name!r} cannot be inlined")
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return {**_inline(defs[name], defs, (*seen, name)), **_inline(siblings, defs, seen)}
    return {key: _inline(value, defs, seen) for key, value in node.items()}


def request_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's validation JSON schema with every nested model inlined."""
    schema = model.model_json_schema(ref_template=_DEFS + "{model}")
    defs = schema.pop("$defs", {})
    inlined: dict[str, Any] = _inline(schema, defs)
    return inlined


class BodyRoute(Route):
    """A POST endpoint that parses its own JSON body into `body` (a protocol model), so that
    every validation failure is a 400 naming the field, never FastAPI's 422 — and is
    answered by Starlette directly, without FastAPI's per-request machinery (about 40 µs).
    It is documented in the OpenAPI schema from `body` (`document`), and leaves itself in
    the scope like FastAPI's routes do (observability labels metrics by the template)."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[[Request], Awaitable[ASGIApp]],
        body: type[BaseModel],
        summary: str,
        answers: str = "The answer; an SSE stream of events when `stream` is true.",
        error: type[BaseModel] = ErrorResponse,
    ) -> None:
        super().__init__(path, endpoint, methods=["POST"])
        self.body = body
        self.summary = summary
        self.answers = answers
        self.error = error

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is Match.FULL:
            child["route"] = self
        return match, child

    def _path_parameters(self) -> dict[str, Any]:
        """`{name}` segments of the path, each a required string parameter."""
        names = [name for name in self.param_convertors]
        if not names:
            return {}
        return {
            "parameters": [
                {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                for n in names
            ]
        }

    def operation(self) -> dict[str, Any]:
        """The OpenAPI operation: the request model's schema, a JSON or SSE answer, and the
        error objects (its API's) this route may send."""
        error = {"application/json": {"schema": {"$ref": _COMPONENTS + self.error.__name__}}}
        errors = {
            str(status): {"description": text, "content": error}
            for status, text in _ERROR_STATUSES.items()
        }
        return {
            "summary": self.summary,
            "operationId": self.name,
            **self._path_parameters(),
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": request_schema(self.body)}},
            },
            "responses": {
                "200": {
                    "description": self.answers,
                    "content": {
                        "application/json": {"schema": {"type": "object"}},
                        # No schema: tools disagree on whether it describes the body or each event.
                        "text/event-stream": {},
                    },
                },
                **errors,
            },
        }


def document(schema: dict[str, Any], routes: Iterable[BaseRoute]) -> dict[str, Any]:
    """`schema` (FastAPI's, for its own routes) with every `BodyRoute` added, and the error
    objects they refer to in `components`."""
    paths = schema.setdefault("paths", {})
    for route in routes:
        if isinstance(route, BodyRoute):
            paths.setdefault(route.path, {})["post"] = route.operation()
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorResponse, AnthropicErrorResponse):
        error = model.model_json_schema(ref_template=_COMPONENTS + "{model}")
        components.update(error.pop("$defs", {}))
        components[model.__name__] = error
    return schema
