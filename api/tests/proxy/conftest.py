from __future__ import annotations

from ..support.caddy import caddy_fixture
from ..support.server import server_fixture
from ..support.server_env import mock_pace

slow_api = server_fixture(
    {"WORKERS": "1", **mock_pace(40, 100)},
    doc="The mock backend with a per-token delay, so streaming can be observed: an answer is "
    "100 tokens 40 ms apart unless `max_tokens` asks for fewer.",
)
proxy = caddy_fixture("slow_api")
