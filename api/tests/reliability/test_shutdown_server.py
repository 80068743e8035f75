"""SIGTERM to the gunicorn master: it stops accepting, lets in-flight requests and streams
finish within TIMEOUT_GRACEFUL_SHUTDOWN and exits 0; what is still running when that period
ends is closed well-formed (an error event and `[DONE]`, or a 503), never silently cut."""

from __future__ import annotations

import signal
import socket
import threading

import httpx
import pytest

from ..support.polling import poll_until
from ..support.reliability import (
    assert_completed,
    assert_error,
    assert_stream_finished,
    open_stream,
    post_chat,
    wait_for_gauges,
)
from ..support.server import ServerProcess, running_server
from ..support.server_env import admission, mock_pace

pytestmark = pytest.mark.server


def refuses_connections(server: ServerProcess) -> bool:
    with socket.socket() as probe:
        probe.settimeout(2)
        try:
            probe.connect(("127.0.0.1", server.port))
        except ConnectionRefusedError:
            return True
    return False


def exit_code(server: ServerProcess, within: float) -> int:
    """The master's exit status, which must come within `within` seconds."""
    return server.proc.wait(within)


def test_sigterm_lets_a_stream_and_a_request_finish_then_exits_0() -> None:
    graceful = 10
    # Generations take ~2 s (40 tokens of 50 ms): well inside the grace period.
    with running_server(
        WORKERS="2", TIMEOUT_GRACEFUL_SHUTDOWN=str(graceful), **mock_pace(50, 40)
    ) as server:
        folded: list[httpx.Response] = []
        request = threading.Thread(target=lambda: folded.append(post_chat(server)))
        with open_stream(server) as (_, stream):
            request.start()
            wait_for_gauges(server, running=2, waiting=0)
            server.proc.send_signal(signal.SIGTERM)
            poll_until(lambda: refuses_connections(server), 15, what="new connections refused")
            events = list(stream)
        request.join(30)
        assert_stream_finished(events)
        assert len(folded) == 1
        assert_completed(folded[0], stream=False)
        assert exit_code(server, graceful + 5) == 0


def test_a_stream_outliving_the_grace_period_ends_with_an_error_event() -> None:
    graceful = 3
    # One slot; a ~10 s stream takes it and a second stream waits in the queue.
    with running_server(
        WORKERS="1",
        TIMEOUT_GRACEFUL_SHUTDOWN=str(graceful),
        **admission(1, queue_timeout=60),
        **mock_pace(100, 100, ttft_ms=200),
    ) as server:
        queued: list[httpx.Response] = []
        waiter = threading.Thread(target=lambda: queued.append(post_chat(server, stream=True)))
        with open_stream(server) as (response, stream):
            request_id = response.headers["x-request-id"]
            waiter.start()
            wait_for_gauges(server, running=1, waiting=1)
            server.proc.send_signal(signal.SIGTERM)
            events = list(stream)
        waiter.join(30)

        assert events[-1] == "[DONE]", events[-3:]
        error = events[-2]["error"]
        assert (error["type"], error["code"]) == ("server_error", "server_shutdown")
        chunks = events[:-2]
        assert len(chunks) >= 2 and all("choices" in c for c in chunks)  # cut mid-way
        assert all(c["choices"][0]["finish_reason"] is None for c in chunks)

        assert len(queued) == 1
        assert_error(queued[0], 503, "server_error", "server_shutdown")

        assert exit_code(server, graceful + 5) == 0
        line = server.request_line(request_id)
        assert (line["status"], line["error_code"]) == (200, "server_shutdown")
        assert not any("Cancel" in str(r.get("event")) for r in server.log_records())
