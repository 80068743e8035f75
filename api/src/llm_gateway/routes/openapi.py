"""OpenAPI descriptions for routes that parse their own bodies.

The completion routes read the raw body (so every validation failure is a 400 that names the
field, never FastAPI's 422), which leaves FastAPI nothing to describe. These helpers give the
decorators the request model's JSON schema and the responses the routes really send.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..protocol.errors import ErrorResponse

_DEFS = "#/$defs/"

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


def completion_route_docs(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` and `responses` for a completion route (a JSON body, a JSON or SSE
    answer, OpenAI error objects): `@router.post(path, **completion_route_docs(Model))`."""
    ok = {
        "description": "The completion; an SSE stream of chunks when `stream` is true.",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            # No schema: tools disagree on whether it describes the body or each event.
            "text/event-stream": {},
        },
    }
    errors: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorResponse, "description": text}
        for status, text in _ERROR_STATUSES.items()
    }
    return {
        "openapi_extra": {
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": request_schema(model)}},
            }
        },
        "responses": {200: ok, **errors},
    }
