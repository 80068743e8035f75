"""Checking renderer output against Anthropic's own SDK types, strictly: every field of the
right JSON type (no coercion) and no field the SDK does not know."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2
import orjson
from anthropic.types import Message, RawMessageStreamEvent
from pydantic import BaseModel, TypeAdapter

STREAM_EVENT: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)


def no_unknown_fields(model: BaseModel, where: str = "") -> None:
    assert not model.model_extra, f"{where or 'top'}: fields the SDK lacks: {model.model_extra}"
    for name in type(model).model_fields:
        value = getattr(model, name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, BaseModel):
                no_unknown_fields(item, f"{where}.{name}")


def sdk_message(body: dict[str, Any]) -> Message:
    message = Message.model_validate(body, strict=True)
    no_unknown_fields(message)
    return message


def sdk_event(payload: dict[str, Any]) -> Any:
    parsed = STREAM_EVENT.validate_python(payload, strict=True)
    no_unknown_fields(parsed)
    return parsed


def named_events(stream: bytes) -> list[tuple[str, dict[str, Any]]]:
    """`event: NAME\\ndata: JSON\\n\\n` frames, each checked for exactly that shape."""
    assert stream.endswith(b"\n\n"), stream[-200:]
    out = []
    for frame in stream[:-2].split(b"\n\n"):
        name, data = frame.split(b"\n")
        assert name.startswith(b"event: ") and data.startswith(b"data: "), frame
        out.append((name[7:].decode(), orjson.loads(data[6:])))
    return out


def client(status: int, body: bytes, content_type: str) -> anthropic.Anthropic:
    """The real SDK, answered by `body` whatever it asks (no network, no retries)."""

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, headers={"content-type": content_type}, content=body)

    return anthropic.Anthropic(
        api_key="test-key",
        base_url="http://gateway.test",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(answer)),
    )
