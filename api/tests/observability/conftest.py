from __future__ import annotations

from ..support.server import server_fixture
from ..support.server_env import mock_pace

observed_server = server_fixture(
    {"WORKERS": "2", **mock_pace(50, 200)},
    scope="package",
    doc="Two workers and a slow mock model (50 ms a token, 200 tokens unless max_tokens says "
    "less), so a stream can be cut off half-way. Tests measure deltas: the server is shared.",
)
