from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

# Assertions in the shared helpers explain themselves like those in test modules.
pytest.register_assert_rewrite("tests.helpers", "tests.support", "tests.reliability.support")

from .helpers import MODEL_FILE, ServerProcess, asgi_client, running_server  # noqa: E402
from .spec import SpecValidator  # noqa: E402


@pytest.fixture(scope="session")
def spec() -> SpecValidator:
    return SpecValidator()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client() as c:
        yield c


@pytest.fixture(scope="session")
def mock_server() -> Iterator[ServerProcess]:
    """A real gunicorn server (2 workers) with the mock backend, shared by a session."""
    with running_server(WORKERS="2", MAX_BODY_BYTES="65536") as server:
        yield server


@pytest.fixture(scope="session")
def model_file() -> str:
    if not MODEL_FILE.is_file():
        pytest.fail(f"the default model is missing at {MODEL_FILE}: run `make model`")
    return str(MODEL_FILE)
