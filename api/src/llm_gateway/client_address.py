"""Who the client is: the peer's address, or, when the peer is a trusted proxy, the address
that proxy put in `X-Forwarded-For`.

Behind Caddy every connection comes from Caddy, so without this every client would share one
address (one RATE_LIMIT_RPM bucket for everybody). The header is believed only from the
peers in TRUSTED_PROXIES: anyone else could write any address in it. Caddy replaces an
`X-Forwarded-For` sent by a client it does not trust itself, so the proxy's header names the
address Caddy saw. The list is read right to left (each proxy appends the peer it saw), and
the first address that is not itself a trusted proxy is the client.

uvicorn's own `proxy_headers` handling is turned off (serving.Worker): this is the one place.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

UNKNOWN = "unknown"


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs (or single addresses) → networks; ValueError names the bad entry."""
    networks: list[Network] = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or CIDR network") from None
    return tuple(networks)


class TrustedProxies:
    def __init__(self, networks: Iterable[Network] = ()) -> None:
        self.networks = tuple(networks)

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.networks)

    def client_of(self, scope: Scope) -> str:
        """The client's address for this request (`unknown` without a peer, e.g. a test
        transport that sets none)."""
        peer = scope.get("client")
        address = str(peer[0]) if peer else UNKNOWN
        if not self.networks or not self.trusts(address):
            return address
        forwarded: list[str] = [
            part.strip()
            for name, value in Headers(scope=scope).raw
            if name == b"x-forwarded-for"
            for part in value.decode("latin-1").split(",")
        ]
        for hop in reversed(forwarded):
            if not _is_address(hop):
                return address  # a malformed list proves nothing: keep the peer
            if not self.trusts(hop):
                return hop
        # Every hop is a trusted proxy: the first of them is as close to the client as known.
        return forwarded[0] if forwarded else address


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
