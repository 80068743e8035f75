"""The client's address: the peer's, or the one a trusted proxy forwarded."""

from __future__ import annotations

import pytest

from llm_gateway.client_address import TrustedProxies, parse_networks
from llm_gateway.config import SettingsError

from .support.app import settings

PROXY = "172.18.0.5"


def scope(peer: str | None, *forwarded: str) -> dict[str, object]:
    return {
        "type": "http",
        "client": (peer, 40000) if peer else None,
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }


STACK = TrustedProxies(parse_networks(["172.16.0.0/12", "fc00::/7"]))


def test_without_trusted_proxies_the_peer_is_the_client_whatever_it_forwards() -> None:
    assert TrustedProxies().client_of(scope(PROXY, "203.0.113.7")) == PROXY
    assert TrustedProxies().client_of(scope(None)) == "unknown"


def test_a_trusted_proxy_names_the_client() -> None:
    assert STACK.client_of(scope(PROXY, "203.0.113.7")) == "203.0.113.7"
    assert STACK.client_of(scope("::ffff:172.18.0.5", "203.0.113.7")) == "203.0.113.7"
    assert STACK.client_of(scope(PROXY)) == PROXY  # it forwarded nothing


def test_an_untrusted_peer_cannot_choose_its_address() -> None:
    assert STACK.client_of(scope("198.51.100.1", "203.0.113.7")) == "198.51.100.1"


def test_the_list_is_read_from_the_right_past_trusted_hops_only() -> None:
    # An outside client's own entry (spoofed, left) is ignored: the first untrusted hop from
    # the right is the address the trusted proxies saw.
    assert STACK.client_of(scope(PROXY, "1.2.3.4, 203.0.113.7, 172.18.0.9")) == "203.0.113.7"
    assert STACK.client_of(scope(PROXY, "1.2.3.4", "203.0.113.7")) == "203.0.113.7"
    assert STACK.client_of(scope(PROXY, "172.18.0.7, 172.18.0.9")) == "172.18.0.7"


def test_a_malformed_forwarded_list_keeps_the_peer() -> None:
    assert STACK.client_of(scope(PROXY, "not-an-address")) == PROXY
    assert STACK.client_of(scope(PROXY, "")) == PROXY


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    assert settings(trusted_proxies="10.0.0.0/8, ::1").trusted_proxies == ["10.0.0.0/8", "::1"]
    with pytest.raises((SettingsError, ValueError), match=r"proxy\.example"):
        settings(trusted_proxies="10.0.0.0/8,proxy.example")
