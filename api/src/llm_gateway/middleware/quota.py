"""Per-key quotas and usage (`service/quotas.py`) around every POST of a named key: the quota
is checked before the request runs, its usage counted in the store once it has been answered
(after the last byte, so the client never waits for that). Runs after auth, which names the
key. Installed only when API keys are configured."""

from __future__ import annotations

from typing import Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..context import request_context
from ..errors import APIError
from ..http_errors import send_error


class Admission(Protocol):
    headers: dict[str, str]
    refusal: APIError | None


class QuotaKeeper(Protocol):
    """What this middleware uses of `service.quotas.Quotas` (middleware imports no service)."""

    async def admit(self, name: str) -> Admission: ...

    async def record(self, name: str, prompt_tokens: int, completion_tokens: int) -> None: ...


class QuotaMiddleware:
    def __init__(self, app: ASGIApp, quotas: QuotaKeeper) -> None:
        self.app = app
        self.quotas = quotas

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        context = request_context(scope) if scope["type"] == "http" else None
        name = context.key_name if context is not None else None
        if context is None or name is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        admitted = await self.quotas.admit(name)
        if admitted.refusal is not None:
            await send_error(scope, receive, send, admitted.refusal)
            return
        sender = send
        if admitted.headers:
            extra = [(k.encode(), v.encode()) for k, v in admitted.headers.items()]

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", ()), *extra]}
                await send(message)

            sender = send_with_headers
        try:
            await self.app(scope, receive, sender)
        finally:
            figures = context.figures
            if figures is None:
                await self.quotas.record(name, 0, 0)
            else:
                await self.quotas.record(name, figures.prompt_tokens, figures.completion_tokens)
