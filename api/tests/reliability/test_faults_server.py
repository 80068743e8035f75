"""Faults on a real gunicorn server: a worker killed with SIGKILL under load, and a client
that stops reading a long stream."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import threading
from collections import Counter

import httpx
import pytest

from ..support.polling import poll_until
from ..support.procfs import is_idle, server_side, socket_inodes
from ..support.reliability import (
    CHAT,
    CLOSE,
    assert_completed,
    chat_body,
    in_parallel,
    post_chat,
    slot_gauges,
    wait_for_gauges,
)
from ..support.server import ServerProcess, running_server
from ..support.server_env import mock_pace

pytestmark = pytest.mark.server

CLIENTS = 4
CLIENT_TIMEOUT = httpx.Timeout(10.0)  # a client still waiting after this counts as hung


def worker_serving(server: ServerProcess, client: socket.socket) -> int | None:
    """The worker holding the server end of `client`'s connection (from /proc)."""
    conn = server_side(server.port, client.getsockname()[1])
    if conn is None:
        return None
    for pid in server.worker_pids():
        with contextlib.suppress(OSError):  # a worker that just exited
            if conn.inode in socket_inodes(pid):
                return pid
    return None


def stream_request() -> bytes:
    """A streaming chat request as raw HTTP/1.1."""
    body = json.dumps(chat_body(stream=True)).encode()
    return (
        b"POST " + CHAT.encode() + b" HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        b"content-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


def open_stream(server: ServerProcess) -> socket.socket:
    """A raw streaming request, left open; returns once the response has begun."""
    client = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    client.sendall(stream_request())
    assert client.recv(1024).startswith(b"HTTP/1.1 200")
    return client


def read_until_closed(client: socket.socket) -> None:
    """Read until the server closes the connection: raises TimeoutError if it never does."""
    with contextlib.suppress(ConnectionResetError):
        while client.recv(65536):
            pass


def test_a_worker_killed_under_load_is_replaced_and_no_client_hangs() -> None:
    # 4 clients loop over short requests (~0.2 s: max_tokens=20 of 10 ms) on fresh
    # connections, while a long stream (the mock's 2000 tokens, ~20 s) is open on the worker
    # that gets killed, so that at least one request is surely cut.
    with running_server(WORKERS="2", **mock_pace(10, 2000, ttft_ms=20)) as server:
        assert len(server.worker_pids()) == 2
        outcomes: Counter[str] = Counter()
        lock = threading.Lock()
        killed = threading.Event()
        stop = threading.Event()

        def record(outcome: str) -> None:
            with lock:
                outcomes[outcome] += 1
                if killed.is_set() and outcome == "ok":
                    outcomes["ok after the kill"] += 1

        def client(n: int) -> None:
            i = 0
            while not stop.is_set():
                i += 1
                stream = (n + i) % 2 == 1
                try:
                    response = httpx.post(
                        server.base_url + CHAT,
                        json=chat_body(stream=stream, max_tokens=20),
                        headers=CLOSE,
                        timeout=CLIENT_TIMEOUT,
                    )
                except httpx.TimeoutException:
                    record("hung")
                except httpx.TransportError:
                    record("connection error")  # failed fast: the worker died under it
                else:
                    try:
                        assert_completed(response, stream=stream)
                    except AssertionError:
                        record(f"bad answer: {response.status_code} {response.text[-200:]!r}")
                    else:
                        record("ok")

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        with open_stream(server) as doomed:
            try:
                poll_until(lambda: outcomes["ok"] >= 2 * CLIENTS, 15, what="requests flowing")
                victim = worker_serving(server, doomed)
                assert victim is not None
                os.kill(victim, signal.SIGKILL)
                killed.set()
                read_until_closed(doomed)  # the cut stream ends at once; it does not hang
                poll_until(
                    lambda: set(server.worker_pids()) - {victim},
                    15,
                    until=lambda others: len(others) == 2,
                    what="a replacement worker",
                )
                poll_until(
                    lambda: outcomes["ok after the kill"] >= 2 * CLIENTS,
                    15,
                    what="requests served after the kill",
                )
            finally:
                stop.set()
                for thread in threads:
                    thread.join(15)

        assert not any(t.is_alive() for t in threads)
        assert outcomes["hung"] == 0, outcomes
        assert not [o for o in outcomes if o.startswith("bad answer")], outcomes
        # Only what was in flight on the dead worker failed: one request per client at most.
        assert outcomes["connection error"] <= CLIENTS, outcomes
        assert victim not in server.worker_pids()
        wait_for_gauges(server, running=0, waiting=0)  # the dead worker's gauges are gone


def test_a_client_that_stops_reading_does_not_hold_up_the_others() -> None:
    # One worker, so the stalled stream shares the event loop with every other request. The
    # mock streams without pause (10 µs a token) for up to a million tokens: it only stops when
    # the stalled client's buffers, then the server's, are full.
    with running_server(WORKERS="1", **mock_pace(0.01, 1_000_000)) as server:
        (pid,) = server.worker_pids()
        with socket.socket() as slow:
            slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect
            slow.settimeout(10)
            slow.connect(("127.0.0.1", server.port))
            slow.sendall(stream_request())
            assert slow.recv(1024).startswith(b"HTTP/1.1 200")
            # ...and from now on it reads nothing. The worker fills the buffers, then waits.
            poll_until(lambda: is_idle(pid), 30, what="the worker waiting on the stalled client")
            assert slot_gauges(server) == (1, 0)  # the stalled stream still holds its slot

            def other(i: int) -> httpx.Response:
                return post_chat(server, stream=i % 2 == 1, max_tokens=20)

            parallel = in_parallel(6, other)
            one_by_one = [other(i) for i in range(4)]
            for i, response in [*enumerate(parallel), *enumerate(one_by_one)]:
                assert_completed(response, stream=i % 2 == 1)
            assert slow.recv(4096)  # the stalled stream is still open, with data waiting
        # The stalled client hung up: its generation stops, its slot comes back, and its
        # request is logged as a disconnect.
        wait_for_gauges(server, running=0, waiting=0)
        line = server.wait_for_log(
            lambda r: r.get("event") == "request" and r.get("disconnected") is True
        )
        assert line["status"] == 200 and line["error_type"] is None
