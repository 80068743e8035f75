"""API keys on every route but the health checks (a bearer token, or `x-api-key` as
Anthropic's clients send it); `/metrics` has its own token."""

from __future__ import annotations

import hmac

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from ..auth import KeyRing, bearer_token
from ..context import OPEN_OWNER, request_context
from ..errors import Unauthorized
from ..http_errors import send_error

OPEN_PATHS = frozenset({"/health", "/ready"})
METRICS_PATH = "/metrics"


class AuthMiddleware:
    def __init__(self, app: ASGIApp, keys: KeyRing, metrics_token: str | None) -> None:
        self.app = app
        self.keys = keys
        self.metrics_token = metrics_token

    def _refusal(self, scope: Scope) -> Unauthorized | None:
        path = scope["path"]
        if path in OPEN_PATHS:
            return None
        headers = Headers(scope=scope)
        # Anthropic's SDKs send the key as `x-api-key`; OpenAI's as a bearer token.
        token = bearer_token(headers.get("authorization")) or headers.get("x-api-key")
        if path == METRICS_PATH:
            if not self.metrics_token:
                return None
            if token and hmac.compare_digest(token.encode(), self.metrics_token.encode()):
                return None
            return Unauthorized("A valid metrics token is required.")
        if not self.keys.enabled:
            request_context(scope).key_name = OPEN_OWNER
            return None
        if token is None:
            return Unauthorized(
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
        key = self.keys.match(token)
        if key is None:
            return Unauthorized("Incorrect API key provided.")
        context = request_context(scope)
        context.owner, context.key_name = KeyRing.owner(token), key.name
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (refusal := self._refusal(scope)) is not None:
            refusal.headers = {"WWW-Authenticate": "Bearer"}
            await send_error(scope, receive, send, refusal)
            return
        await self.app(scope, receive, send)
