"""Fuzz tests: a fixed, deterministic budget, so they run in every `make test`.

Each test counts the cases it sent through the `fuzz_cases` fixture; the counts are printed
in pytest's terminal summary (whatever `-s`/`-q` say)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings

from ..support.polling import poll_until
from ..support.scrape import scrape
from ..support.server import ServerProcess

# Derandomized (no example database): the same cases on every run and machine.
FUZZ_SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

_COUNTS = pytest.StashKey[Counter[str]]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_COUNTS] = Counter()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/fuzz/" in str(item.fspath):
            item.add_marker(pytest.mark.fuzz)


@pytest.fixture(scope="session")
def fuzz_cases(pytestconfig: pytest.Config) -> Counter[str]:
    """Add one per case sent: `fuzz_cases["raw http: garbage request lines"] += 1`."""
    return pytestconfig.stash[_COUNTS]


@pytest.fixture
def http(mock_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=mock_server.base_url, timeout=10) as client:
        yield client


class ServerLog:
    """The mock server's log lines from now on: a client may never see a 500 (the
    connection was gone), but the server still logs and counts it."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.start = len(self.settled())

    def settled(self) -> list[dict[str, Any]]:
        """Every log record, once each request the server has counted (in /metrics, which it
        does just before writing the request's line) has its line, and no generation runs."""
        records: list[dict[str, Any]] = []

        def logged_counted_busy() -> tuple[int, int, float]:
            records[:] = self.server.log_records()
            logged = sum(
                1 for r in records if r.get("event") == "request" and r.get("path") != "/metrics"
            )
            samples = scrape(self.server.base_url)
            counted = sum(
                value
                for (name, labels), value in samples.items()
                if name == "llm_gateway_requests_total" and ("route", "/metrics") not in labels
            )
            busy = sum(
                value
                for (name, _), value in samples.items()
                if name in {"llm_gateway_num_requests_running", "llm_gateway_num_requests_waiting"}
            )
            return logged, int(counted), busy

        poll_until(
            logged_counted_busy,
            10,
            until=lambda seen: seen[0] == seen[1] and seen[2] == 0,
            what="a log line for every request counted (logged, counted, generating)",
        )
        return records

    def errors(self) -> list[dict[str, Any]]:
        return [
            record
            for record in self.settled()[self.start :]
            if record.get("level") in {"error", "critical"}
            or (record.get("event") == "request" and record.get("status", 0) >= 500)
        ]


@pytest.fixture
def server_log(mock_server: ServerProcess) -> Iterator[ServerLog]:
    """Fails the test if the server logged an error or a 5xx while it ran."""
    log = ServerLog(mock_server)
    yield log
    errors = log.errors()
    assert not errors, "the server logged errors:\n" + "\n".join(
        f"{e.get('event')} {e.get('status')} {e.get('path')}: "
        f"{(e.get('exception') or '').strip().splitlines()[-1:]}"
        for e in errors[:5]
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    counts = terminalreporter.config.stash.get(_COUNTS, None)
    if not counts:
        return
    terminalreporter.section("fuzz cases")
    for name, count in sorted(counts.items()):
        terminalreporter.write_line(f"{count:6d}  {name}")
    terminalreporter.write_line(f"{sum(counts.values()):6d}  total")
