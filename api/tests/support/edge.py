"""What the public side of every deployment must do, checked the same way whether Caddy runs
alone (proxy/), in the Compose stack (stack/) or on Swarm (swarm/): CORS for the one allowed
origin and none other. Each check takes an httpx client already pointed at the proxy over
HTTPS (verification on), so the transport is the caller's and the rules are written once."""

from __future__ import annotations

import httpx

# The origin every test deployment allows (CORS_ORIGINS).
ALLOWED_ORIGIN = "https://app.example.com"
OTHER_ORIGIN = "https://evil.example"
CHAT = "/v1/chat/completions"


def preflight(
    client: httpx.Client, origin: str, request_headers: str | None = None
) -> httpx.Response:
    """A browser's CORS preflight of a chat POST from `origin`."""
    headers = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    if request_headers is not None:
        headers["Access-Control-Request-Headers"] = request_headers
    return client.options(CHAT, headers=headers)


def assert_preflight_allowed(
    client: httpx.Client, request_headers: str, origin: str = ALLOWED_ORIGIN
) -> httpx.Response:
    """The preflight is answered 204 for `origin` alone, allowing each requested header
    (comma-separated, as browsers send them)."""
    r = preflight(client, origin, request_headers)
    assert r.status_code == 204, r.text
    assert r.headers.get_list("access-control-allow-origin") == [origin]
    allowed = r.headers["access-control-allow-headers"].lower()
    for name in request_headers.split(","):
        assert name.strip().lower() in allowed, (name, allowed)
    return r


def assert_preflight_refused(client: httpx.Client, origin: str = OTHER_ORIGIN) -> None:
    """A preflight from an origin not allowed gets no CORS header: the browser blocks it."""
    assert "access-control-allow-origin" not in preflight(client, origin).headers


def check_cors(client: httpx.Client, request_headers: str) -> None:
    """Preflights from the allowed origin pass, with the headers it asks for; from any other
    origin they get no CORS header."""
    assert_preflight_allowed(client, request_headers)
    assert_preflight_refused(client)
