"""The one pooled HTTP client of a worker's openai backend: keep-alive connections to every
upstream, explicit timeouts, the upstream key on every request."""

from __future__ import annotations

import httpx

from ... import __version__
from .settings import UpstreamSettings

# Idle connections are dropped a little before uvicorn's default keep-alive timeout (5 s,
# which vLLM and this server's upstreams often run with), so a request never races the
# server closing the connection it picked.
KEEPALIVE_EXPIRY = 4.0


def create_client(settings: UpstreamSettings, *, max_keepalive: int) -> httpx.AsyncClient:
    """No bound on connections: the server's generation slots (MAX_CONCURRENT) bound them;
    up to `max_keepalive` stay open between requests. Proxies and CA files come from the
    environment as for any httpx client (HTTPS_PROXY, NO_PROXY, SSL_CERT_FILE)."""
    headers = {"user-agent": f"llm-gateway/{__version__}"}
    if settings.upstream_api_key is not None:
        headers["authorization"] = f"Bearer {settings.upstream_api_key.get_secret_value()}"
    read = settings.upstream_read_timeout
    return httpx.AsyncClient(
        headers=headers,
        timeout=httpx.Timeout(
            connect=settings.upstream_connect_timeout, read=read, write=read, pool=None
        ),
        limits=httpx.Limits(
            max_connections=None,
            max_keepalive_connections=max_keepalive,
            keepalive_expiry=KEEPALIVE_EXPIRY,
        ),
        follow_redirects=False,
    )
