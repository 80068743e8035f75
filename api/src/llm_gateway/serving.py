"""Running under gunicorn: the uvicorn worker class and the listen addresses."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from pathlib import Path
from typing import Any

from gunicorn.arbiter import Arbiter
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import Server

from .compat.uvicorn_worker import ServerClassWorker
from .env import SettingsError
from .lifecycle import shutdown_signal, start_failure


def shutdown_schedule(graceful_timeout: float) -> tuple[float, float]:
    """(drain_after, cancel_after): seconds into a worker's shutdown at which responses still
    open are told to end (streams with an error event, requests in the queue with a 503), and
    at which uvicorn cancels whatever is left. gunicorn kills the worker at `graceful_timeout`;
    each step leaves a margin of a second (a quarter of the period, if shorter) before the next.
    """
    margin = min(1.0, graceful_timeout / 4)
    return graceful_timeout - 2 * margin, graceful_timeout - margin


class DrainingServer(Server):
    """uvicorn's server, which lets in-flight requests run for `timeout_graceful_shutdown`
    and then cancels them; this one first sets the app's shutdown event at `drain_after`, so
    responses end well-formed before anything is cancelled."""

    def __init__(self, config: Config, drain_after: float) -> None:
        super().__init__(config)
        self.drain_after = drain_after

    def _drain(self) -> None:
        if (event := shutdown_signal(self.config.app)) is not None:
            event.set()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        timer = asyncio.get_running_loop().call_later(self.drain_after, self._drain)
        try:
            await super().shutdown(sockets=sockets)
        finally:
            timer.cancel()


# A response's writes are gathered until this many bytes, or the end of the event loop's turn.
COALESCE_BYTES = 65_536


class _CoalescingTransport:
    """The connection's transport, with the writes made in one turn of the event loop sent
    as one: a response's head and body (uvicorn writes each as it comes), or the events a
    fast stream sends back to back, in one system call instead of several (on loopback most
    of the cost of a small response). Nothing waits longer than the loop's current turn;
    past COALESCE_BYTES the writes go out at once, so the transport's own flow control
    (pausing a stream whose client reads slowly) works as before."""

    __slots__ = ("_loop", "_pending", "_size", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._size = 0

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))
        self._size += len(data)
        if self._size >= COALESCE_BYTES:
            self._flush()

    def _flush(self) -> None:
        pending, self._pending, self._size = self._pending, [], 0
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a `_CoalescingTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        loop = asyncio.get_running_loop()
        super().connection_made(_CoalescingTransport(transport, loop))  # type: ignore[arg-type]


class Worker(ServerClassWorker):
    """uvicorn worker with the settings this service relies on, and a shutdown that ends
    within gunicorn's `graceful_timeout` (TIMEOUT_GRACEFUL_SHUTDOWN) with every response
    finished or closed with an error, never cut by the master's SIGKILL."""

    CONFIG_KWARGS: dict[str, Any] = {
        "loop": "auto",
        "http": CoalescingHttpToolsProtocol,
        "lifespan": "on",
        "server_header": False,
        "date_header": True,
        "access_log": False,  # the app's canonical "request" log line replaces it
        # Forwarded headers are read by the app alone, from TRUSTED_PROXIES only
        # (client_address.py); uvicorn's own handling would trust loopback peers.
        "proxy_headers": False,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.drain_after, self.config.timeout_graceful_shutdown = shutdown_schedule(
            self.cfg.graceful_timeout
        )

    def load_wsgi(self) -> None:
        """The app refused its settings (a store path that cannot be created, ...): say why
        in one line and stop the whole server (gunicorn's boot-error code), instead of
        exiting 1, which the master would answer with a new worker, forever."""
        try:
            super().load_wsgi()
        except SettingsError as exc:
            self.log.error("the api refused to start: %s", " ".join(str(exc.code).split()))
            sys.exit(Arbiter.WORKER_BOOT_ERROR)

    def make_server(self) -> Server:
        server = DrainingServer(self.config, self.drain_after)
        if (failure := start_failure(self.config.app)) is not None:
            failure.subscribe(lambda _reason: setattr(server, "should_exit", True))
        return server

    def failed_to_start(self) -> bool:
        failure = start_failure(self.config.app)
        return failure is not None and failure.reason is not None


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
