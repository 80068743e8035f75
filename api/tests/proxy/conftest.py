from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..support.caddy import CaddyProcess, running_caddy
from ..support.server import ServerProcess, running_server


@pytest.fixture(scope="module")
def slow_api() -> Iterator[ServerProcess]:
    """The mock backend with a per-token delay, so streaming can be observed: an answer is
    100 tokens 40 ms apart unless `max_tokens` asks for fewer."""
    with running_server(WORKERS="1", MOCK_TOKEN_MS="40", MOCK_MAX_TOKENS="100") as server:
        yield server


@pytest.fixture(scope="module")
def proxy(slow_api: ServerProcess) -> Iterator[CaddyProcess]:
    with running_caddy(slow_api) as caddy:
        yield caddy
