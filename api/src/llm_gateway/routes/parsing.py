"""Body → request model, with every failure turned into a 400 that names the field."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect

from ..errors import ClientClosedRequest, InvalidRequest
from ..protocol.common import ParamError

ModelT = TypeVar("ModelT", bound=BaseModel)

# Location parts pydantic adds for union members and validators; not field names.
_TYPE_TAGS = {"str", "int", "float", "bool", "list", "dict", "none", "literal"}


def _is_type_tag(part: str) -> bool:
    return part in _TYPE_TAGS or any(c in part for c in "[(-") or part.startswith("is-instance")


def param_path(loc: tuple[int | str, ...]) -> str | None:
    """`messages[0].content` for pydantic's location of an error: union members are skipped,
    and so is the tag a discriminated union adds (`input[2].content`, not
    `input[2].message.content`)."""
    out = ""
    tag_follows = False  # the next name is a discriminated union's tag, not a field
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _is_type_tag(part):
            tag_follows = tag_follows or "tagged-union" in part
        elif tag_follows:
            tag_follows = False
        else:
            out += f".{part}" if out else part
    return out or None


def _message(error: dict[str, Any], param: str | None) -> str:
    kind = error["type"]
    if kind == "missing":
        return f"Missing required parameter: '{param}'."
    msg = str(error["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if param is None:
        return msg
    return f"Invalid value for '{param}': {msg}."


async def parse_body(request: Request, model: type[ModelT]) -> ModelT:
    try:
        body = await request.body()
    except ClientDisconnect:
        raise ClientClosedRequest(
            "The client closed the connection before the whole body was received."
        ) from None
    return parse_json(body, model)


def parse_json(body: bytes, model: type[ModelT]) -> ModelT:
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        # A union reports every member's complaint. The one that explains is a broken rule
        # (a bound, a missing field) rather than "not this type" from a member that does not
        # apply, and the deepest of those.
        first = max(errors, key=lambda e: (not e["type"].endswith("_type"), len(e["loc"])))
        cause = first.get("ctx", {}).get("error")
        if isinstance(cause, ParamError):
            raise InvalidRequest(str(cause), param=cause.param) from None
        if first["type"] == "json_invalid" or (first["type"] == "json_type" and not first["loc"]):
            raise InvalidRequest(
                "We could not parse the JSON body of your request. (HINT: This likely means "
                "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                "payload, but what was sent was not valid JSON.)",
            ) from None
        if first["type"] in {"model_type", "model_attributes_type"} and not first["loc"]:
            raise InvalidRequest("The request body must be a JSON object.") from None
        param = param_path(tuple(first["loc"]))
        raise InvalidRequest(_message(dict(first), param), param=param) from None
