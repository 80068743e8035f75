from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..support.server import ServerProcess, running_server


@pytest.fixture(scope="package")
def observed_server() -> Iterator[ServerProcess]:
    """Two workers and a slow mock model (50 ms a token, 200 tokens unless max_tokens says
    less), so a stream can be cut off half-way. Tests measure deltas: the server is shared."""
    with running_server(WORKERS="2", MOCK_TOKEN_MS="50", MOCK_MAX_TOKENS="200") as server:
        yield server
