"""Errors as Anthropic tells them: the body for each status, the SDK raising its own typed
exception for it, and a stream that fails after it began ending in an `error` event."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anthropic
import orjson
import pytest
from anthropic.types.shared import ErrorResponse

from llm_gateway.backends import Delta
from llm_gateway.errors import (
    APIError,
    BadGateway,
    ClientClosedRequest,
    GatewayTimeout,
    InternalError,
    InvalidRequest,
    ModelNotFound,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
    UpstreamError,
    anthropic_error_body,
)
from llm_gateway.render.messages import MessagesRenderer

from ..support.anthropic_sdk import client, named_events, no_unknown_fields
from .fakes import FakeGeneration

CASES: list[tuple[APIError, str, type[anthropic.APIStatusError]]] = [
    (
        InvalidRequest("Bad.", param="max_tokens"),
        "invalid_request_error",
        anthropic.BadRequestError,
    ),
    (Unauthorized("No key."), "authentication_error", anthropic.AuthenticationError),
    (
        UpstreamError("Not yours.", status=403, type="permission_error"),
        "permission_error",
        anthropic.PermissionDeniedError,
    ),
    (ModelNotFound("No model."), "not_found_error", anthropic.NotFoundError),
    (PayloadTooLarge("Too big."), "request_too_large", anthropic.ContentTooLargeError),
    (RateLimited("Slow down."), "rate_limit_error", anthropic.RateLimitError),
    (InternalError(), "api_error", anthropic.InternalServerError),
    (BadGateway("Upstream down."), "api_error", anthropic.InternalServerError),
    (ServiceUnavailable("Busy."), "overloaded_error", anthropic.ServiceUnavailableError),
    (GatewayTimeout("Too slow."), "timeout_error", anthropic.GatewayTimeoutError),
    (
        UpstreamError("Overloaded.", status=529, type="overloaded_error"),
        "overloaded_error",
        anthropic.OverloadedError,
    ),
]


@pytest.mark.parametrize(("error", "kind", "sdk_error"), CASES)
def test_each_status_is_the_sdks_typed_exception(
    error: APIError, kind: str, sdk_error: type[anthropic.APIStatusError]
) -> None:
    body = anthropic_error_body(error)
    assert body["type"] == "error" and body["error"]["type"] == kind
    if kind != "request_too_large":  # on Anthropic's errors page, not in the SDK's union
        no_unknown_fields(ErrorResponse.model_validate(body, strict=True))
    sdk = client(error.status, orjson.dumps(body), "application/json")
    with pytest.raises(sdk_error) as info:
        sdk.messages.create(model="m", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == error.status
    assert info.value.body == body
    assert error.message in str(info.value)


def test_the_field_to_fix_leads_the_message() -> None:
    body = anthropic_error_body(InvalidRequest("Must be at least 1.", param="max_tokens"))
    assert body["error"]["message"] == "max_tokens: Must be at least 1."
    named = InvalidRequest("Invalid value for 'max_tokens': x.", param="max_tokens")
    assert anthropic_error_body(named)["error"]["message"] == named.message


def test_other_client_errors_are_invalid_request_errors() -> None:
    body = anthropic_error_body(ClientClosedRequest("Gone."))
    assert body["error"]["type"] == "invalid_request_error"


class Failing(FakeGeneration):
    async def events(self) -> AsyncIterator[tuple[int, Delta]]:
        yield 0, Delta(text="partial")
        raise RateLimited("Quota used up mid-answer.")


async def test_a_stream_that_fails_ends_with_an_error_event_the_sdk_raises() -> None:
    renderer = MessagesRenderer(Failing([]))
    chunks: list[bytes] = []
    with pytest.raises(RateLimited) as failure:
        async for chunk in renderer.sse():
            chunks.append(chunk)
    chunks.append(renderer.error_tail(failure.value))
    stream = b"".join(chunks)
    name, payload = named_events(stream)[-1]
    assert name == "error"
    assert payload == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "Quota used up mid-answer."},
    }
    sdk = client(200, stream, "text/event-stream")
    with (
        pytest.raises(anthropic.APIStatusError) as info,
        sdk.messages.stream(
            model="m", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
        ) as events,
    ):
        events.get_final_message()
    assert info.value.body == payload


def test_an_unexpected_exception_reveals_nothing() -> None:
    tail = MessagesRenderer(FakeGeneration([])).error_tail(RuntimeError("secret path /etc"))
    ((name, payload),) = named_events(tail)
    assert name == "error"
    assert payload["error"]["type"] == "api_error"
    assert "secret" not in payload["error"]["message"]
