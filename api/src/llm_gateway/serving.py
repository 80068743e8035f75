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


class _CoalescingTransport:
    """The connection's transport, with a response's head sent together with what follows
    it: uvicorn writes the status line and headers as soon as the app starts the response,
    then each body chunk, one system call each (on loopback most of the cost of a small
    response). Here the head waits for the first body chunk and both go out in one write,
    at once; everything after is written through. A head with nothing after it in the same
    turn of the event loop (a stream waiting for its first event) goes out at the turn's
    end, so nothing waits longer than it did."""

    __slots__ = ("_head", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._head: bytes | None = None

    def write(self, data: bytes) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._transport.write(head + data)
        elif data.startswith(b"HTTP/"):  # uvicorn's status line: a response starts
            self._head = bytes(data)
            self._loop.call_soon(self._flush)
        else:
            self._transport.write(data)

    def _flush(self) -> None:
        head, self._head = self._head, None
        if head is not None and not self._transport.is_closing():
            self._transport.write(head)

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
