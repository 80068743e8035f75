"""Tests that start processes carry a marker, so that `make test-fast` can select the
in-process ones by marker alone. Whatever starts a process asks `require_marker` first; it
fails the test, saying what to add, when the running test lacks the marker, and always when
`make test-fast` has said "in process only"."""

from __future__ import annotations

import os

import pytest

# Set by `make test-fast`: any attempt to start a process is a test that lacks its marker.
IN_PROCESS_ONLY = "LLM_GATEWAY_TESTS_IN_PROCESS_ONLY"

# What each marker means (registered in pyproject.toml with the same words).
MARKERS = {
    "server": "starts a gunicorn server",
    "model": "loads the real default model",
    "proxy": "starts Caddy",
    "stack": "starts the Docker Compose stack",
    "swarm": "deploys the stack on Docker Swarm",
}

# The test being run now, set by the root conftest around each test (fixtures included).
running: pytest.Item | None = None


def require_marker(marker: str) -> None:
    """Fail the running test unless it is marked `marker` (and we may start processes)."""
    what = MARKERS[marker]
    test = running.nodeid if running is not None else "a test"
    hint = (
        f"mark it `{marker}` (`pytestmark = pytest.mark.{marker}` in its module), or list the "
        f"shared fixture that does it in PROCESS_FIXTURES (tests/conftest.py): `make test-fast` "
        f"selects the in-process tests by marker"
    )
    if os.environ.get(IN_PROCESS_ONLY) == "1":
        pytest.fail(f"{test} {what}, which `make test-fast` does not allow: {hint}", pytrace=False)
    if running is not None and running.get_closest_marker(marker) is None:
        pytest.fail(f"{test} {what} but is not marked `{marker}`: {hint}", pytrace=False)
