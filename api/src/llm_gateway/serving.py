"""Running under gunicorn: the uvicorn worker class and the listen addresses."""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path
from typing import Any

from uvicorn_worker import UvicornWorker


class Worker(UvicornWorker):  # type: ignore[misc]
    """uvicorn worker with the settings this service relies on."""

    CONFIG_KWARGS: dict[str, Any] = {
        "loop": "auto",
        "http": "auto",
        "lifespan": "on",
        "server_header": False,
        "date_header": True,
        "access_log": False,  # the app's canonical "request" log line replaces it
    }


def _ipv6_usable(address: str) -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind((address, 0))
    except OSError:
        return False
    return True


def _dual_stack() -> bool:
    """On Linux an IPv6 wildcard socket also takes IPv4 unless bindv6only is set."""
    with contextlib.suppress(OSError, ValueError):
        return Path("/proc/sys/net/ipv6/bindv6only").read_text().strip() == "0"
    return False


def bind_addresses(hosts: list[str], port: int) -> list[str]:
    """gunicorn `bind` entries: IPv6 ones only where the machine has IPv6, and no
    0.0.0.0 beside a dual-stack `::` (it would fail with 'address in use')."""
    binds: list[str] = []
    v6_wildcard = False
    for host in hosts:
        if ":" in host:
            if not _ipv6_usable(host):
                continue
            v6_wildcard |= host == "::"
            binds.append(f"[{host}]:{port}")
        else:
            binds.append(f"{host}:{port}")
    if v6_wildcard and _dual_stack():
        binds = [b for b in binds if not b.startswith("0.0.0.0:")]
    if not binds:
        raise SystemExit(f"none of HOST={','.join(hosts)} can be bound on this machine")
    return binds
