"""The test suite's own helpers: polling with a deadline, SSE parsing, /proc readings, and
the guard that fails an unmarked test starting a process (before anything is started)."""

from __future__ import annotations

import asyncio
import itertools
import os

import pytest

from .support.caddy import CaddyProcess
from .support.markers import IN_PROCESS_ONLY, require_marker
from .support.polling import async_poll_until, poll_until
from .support.procfs import cpu_seconds, rss_kb
from .support.server import ServerProcess
from .support.sse import sse_payloads


def test_poll_until_returns_the_first_value_that_satisfies_the_condition() -> None:
    count = itertools.count()
    assert poll_until(lambda: next(count), 5, 0, until=lambda n: n >= 3) == 3
    assert poll_until(lambda: "ready", 5) == "ready"


def test_poll_until_fails_at_its_deadline_saying_what_and_the_last_value() -> None:
    with pytest.raises(AssertionError) as info:
        poll_until(lambda: (1, 2), 0.05, 0.01, until=lambda v: v == (0, 0), what="idle gauges")
    assert "after 0.05s for idle gauges; last seen: (1, 2)" in str(info.value)


def test_poll_until_retries_only_the_exceptions_it_is_told_to() -> None:
    attempts = itertools.count()

    def flaky() -> bool:
        if next(attempts) < 2:
            raise ConnectionError("not yet")
        return True

    assert poll_until(flaky, 5, 0, retry_on=(ConnectionError,))
    with pytest.raises(ZeroDivisionError):
        poll_until(lambda: 1 / 0, 5, 0, retry_on=(ConnectionError,))

    def down() -> bool:
        raise ConnectionError("down")

    with pytest.raises(AssertionError, match=r"last seen: ConnectionError\('down'\)"):
        poll_until(down, 0.02, 0.01, retry_on=(ConnectionError,))


async def test_async_poll_until_lets_other_tasks_run() -> None:
    done = asyncio.Event()
    asyncio.get_running_loop().call_later(0.01, done.set)
    assert await async_poll_until(done.is_set, 5)
    with pytest.raises(AssertionError, match=r"still waiting after 0\.02s"):
        await async_poll_until(lambda: False, 0.02)


def test_sse_payloads_decode_data_events_and_refuse_anything_else() -> None:
    assert sse_payloads('data: {"a": 1}\n\ndata: [DONE]\n\n') == [{"a": 1}, "[DONE]"]
    for bad in ("event: x\n\n", 'data: {"a": 1}\ndata: {"b": 2}\n\n', 'data: {"a": 1}\n'):
        with pytest.raises(AssertionError):
            sse_payloads(bad)


def test_cpu_seconds_and_rss_read_this_process() -> None:
    times = os.times()
    assert cpu_seconds(os.getpid()) == pytest.approx(times.user + times.system, abs=0.05)
    assert rss_kb(os.getpid()) > 1000


def test_an_unmarked_test_may_not_start_a_server_or_caddy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(IN_PROCESS_ONLY, raising=False)
    with pytest.raises(pytest.fail.Exception, match="is not marked `server`: mark it"):
        ServerProcess({})
    with pytest.raises(pytest.fail.Exception, match="is not marked `proxy`"):
        CaddyProcess(None)  # type: ignore[arg-type]


def test_make_test_fast_allows_no_process_even_to_a_marked_test(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    request.node.add_marker("server")
    monkeypatch.delenv(IN_PROCESS_ONLY, raising=False)
    require_marker("server")  # marked: allowed
    monkeypatch.setenv(IN_PROCESS_ONLY, "1")
    with pytest.raises(pytest.fail.Exception, match="which `make test-fast` does not allow"):
        require_marker("server")
