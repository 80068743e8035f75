from __future__ import annotations

from collections.abc import AsyncIterator, Generator

import httpx
import pytest

# Assertions in the shared helpers explain themselves like those in test modules.
pytest.register_assert_rewrite("tests.support")

from .support import markers  # noqa: E402
from .support.app import asgi_client  # noqa: E402
from .support.paths import MODEL_FILE  # noqa: E402
from .support.server import server_fixture  # noqa: E402
from .support.spec import SpecValidator  # noqa: E402

# Shared fixtures that start processes, and the markers every test using one (directly or
# through another fixture) gets. A test that starts a process itself says so in its module's
# `pytestmark`. Either way, `require_marker` fails a test that starts one unmarked.
PROCESS_FIXTURES = {
    "mock_server": ("server",),
    "observed_server": ("server",),
    "llama_server": ("server", "model"),
    "model_file": ("model",),
    "slow_api": ("server",),
    "proxy": ("server", "proxy"),
    "stack": ("stack",),
    "swarm": ("swarm",),
    "mock_swarm": ("swarm",),
    # The frontend tests' own servers (browser/, examples/).
    "open_api": ("server",),
    "keyed_api": ("server",),
    "open_proxy": ("server", "proxy"),
    "keyed_proxy": ("server", "proxy"),
    "keyed_mock": ("server",),
    "keyed_llama": ("server", "model"),
    "redis": ("server",),
}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for name in getattr(item, "fixturenames", ()):
            for marker in PROCESS_FIXTURES.get(name, ()):
                item.add_marker(marker)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    markers.running = item
    try:
        return (yield)
    finally:
        markers.running = None


@pytest.fixture(scope="session")
def spec() -> SpecValidator:
    return SpecValidator()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client() as c:
        yield c


mock_server = server_fixture(
    {"WORKERS": "2", "MAX_BODY_BYTES": "65536"},
    scope="session",
    doc="A real gunicorn server (2 workers) with the mock backend, shared by a session: for "
    "every module that needs a server but no settings of its own.",
)


@pytest.fixture(scope="session")
def model_file() -> str:
    markers.require_marker("model")
    if not MODEL_FILE.is_file():
        pytest.fail(f"the default model is missing at {MODEL_FILE}: run `make model`")
    return str(MODEL_FILE)
