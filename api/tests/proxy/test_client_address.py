"""Who the client is behind the real Caddy (proxy/Caddyfile) in front of gunicorn: the api
believes Caddy's X-Forwarded-For because Caddy is its trusted proxy (TRUSTED_PROXIES), and
Caddy replaces whatever X-Forwarded-For an outside client sends, so a spoofed one changes
nothing. Two loopback addresses (127.0.0.2, 127.0.0.3) play two machines."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx
import pytest

from ..support.caddy import CaddyProcess, running_caddy
from ..support.server import ServerProcess, running_server

pytestmark = [pytest.mark.server, pytest.mark.proxy]

BODY = {"model": "mock-model", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}


@pytest.fixture(scope="module")
def limited_api() -> Iterator[ServerProcess]:
    with running_server(RATE_LIMIT_RPM="1", TRUSTED_PROXIES="127.0.0.1/32,::1/128") as api:
        yield api


@pytest.fixture(scope="module")
def limited_proxy(limited_api: ServerProcess) -> Iterator[CaddyProcess]:
    with running_caddy(limited_api) as caddy:
        yield caddy


@contextlib.contextmanager
def client_from(proxy: CaddyProcess, address: str) -> Iterator[httpx.Client]:
    """A client whose connections leave from `address` (another machine, as Caddy sees it)."""
    transport = httpx.HTTPTransport(verify=proxy.tls, local_address=address)
    with httpx.Client(transport=transport, base_url=proxy.base_url, timeout=30) as client:
        yield client


def chat(client: httpx.Client, **headers: str) -> int:
    return client.post("/v1/chat/completions", json=BODY, headers=headers).status_code


def test_two_addresses_get_two_buckets_and_a_spoofed_header_changes_nothing(
    limited_proxy: CaddyProcess, limited_api: ServerProcess
) -> None:
    with client_from(limited_proxy, "127.0.0.2") as a, client_from(limited_proxy, "127.0.0.3") as b:
        assert chat(a) == 200
        assert chat(b) == 200  # not the bucket `a` emptied: its own
        assert chat(a) == 429
        # `a` claims to be someone else: Caddy replaces the header, the api still sees `a`.
        assert chat(a, **{"x-forwarded-for": "203.0.113.50"}) == 429
    lines = [r for r in limited_api.log_records() if r.get("path") == "/v1/chat/completions"]
    assert [line["client"] for line in lines] == [
        "127.0.0.2",
        "127.0.0.3",
        "127.0.0.2",
        "127.0.0.2",
    ]


def test_a_spoofed_header_sent_to_the_api_directly_changes_nothing(
    limited_api: ServerProcess,
) -> None:
    # 127.0.0.4 is not a trusted proxy: its X-Forwarded-For is not believed.
    transport = httpx.HTTPTransport(local_address="127.0.0.4")
    url = f"http://127.0.0.1:{limited_api.port}/v1/chat/completions"
    with httpx.Client(transport=transport, timeout=30) as client:
        first = client.post(url, json=BODY, headers={"x-forwarded-for": "203.0.113.60"})
        second = client.post(url, json=BODY, headers={"x-forwarded-for": "203.0.113.61"})
    assert (first.status_code, second.status_code) == (200, 429)
    assert limited_api.log_records()[-1]["client"] == "127.0.0.4"
