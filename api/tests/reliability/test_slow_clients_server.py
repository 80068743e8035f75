"""The fault matrix's slow-client rows on a real gunicorn worker (one, so it is the one every
client reaches): clients that trickle their headers or their body (slowloris) hold a
connection each and nothing else: no worker (others are answered meanwhile), no generation
slot; once they go, the worker's sockets come back to what they were. (Through the proxy,
Caddy's `read_header` timeout, 10 s, also drops a client whose headers never end.)"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator

import pytest

from ..support.polling import poll_until
from ..support.procfs import socket_inodes
from ..support.reliability import CHAT, assert_completed, chat_body, post_chat, slot_gauges
from ..support.server import ServerProcess, running_server
from ..support.server_env import mock_pace

pytestmark = pytest.mark.server

SLOW_CLIENTS = 40  # of each kind


@contextlib.contextmanager
def slow_clients(server: ServerProcess) -> Iterator[list[socket.socket]]:
    """Half send part of their headers, half their headers and part of a body; none ever
    sends the rest (a trickle is, to the server, a request that has not arrived yet)."""
    body = json.dumps(chat_body(max_tokens=2)).encode()
    head = (
        f"POST {CHAT} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
    ).encode()
    clients: list[socket.socket] = []
    try:
        for i in range(2 * SLOW_CLIENTS):
            client = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            clients.append(client)
            client.sendall(head[: len(head) // 2] if i % 2 else head + b"\r\n" + body[:10])
        yield clients
    finally:
        for client in clients:
            client.close()


def test_slow_headers_and_bodies_hold_no_worker_no_slot_and_their_sockets_come_back() -> None:
    with running_server(WORKERS="1") as server:
        [worker] = server.worker_pids()
        assert_completed(post_chat(server), stream=False)
        baseline = len(socket_inodes(worker))
        with slow_clients(server):
            poll_until(
                lambda: len(socket_inodes(worker)),
                10,
                # Not `baseline +`: the baseline may still hold the first request's
                # connection, which the server closes in its own time.
                until=lambda count: count >= 2 * SLOW_CLIENTS,
                what="the worker to accept every slow client",
            )
            # Everyone else is answered meanwhile, streamed or not.
            assert_completed(post_chat(server), stream=False)
            assert_completed(post_chat(server, stream=True), stream=True)
            # A request whose body has not arrived is not admitted: no slot is held.
            assert slot_gauges(server) == (0, 0)
        poll_until(
            lambda: len(socket_inodes(worker)),
            10,
            until=lambda count: count <= baseline,
            what="the slow clients' sockets to be closed by the worker",
        )
        assert_completed(post_chat(server), stream=False)


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "non-stream"])
def test_a_client_gone_during_prompt_processing_frees_its_slot(stream: bool) -> None:
    # The mock's time to first token stands for reading a long prompt (the llama engine's
    # own case: test_llama_batching's leader cancelled mid-prompt).
    with running_server(WORKERS="1", **mock_pace(1, 4, ttft_ms=60_000)) as server:
        request_id = f"gone-in-prompt-{stream}"
        body = json.dumps(chat_body(stream=stream)).encode()
        head = (
            f"POST {CHAT} HTTP/1.1\r\nhost: 127.0.0.1\r\nx-request-id: {request_id}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as client:
            client.sendall(head + body)
            poll_until(lambda: slot_gauges(server) == (1, 0), 10, what="the prompt to be read")
        line = server.request_line(request_id)
        assert line["disconnected"] is True and line["completion_tokens"] == 0
        assert slot_gauges(server) == (0, 0)
