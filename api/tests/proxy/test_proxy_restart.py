"""The fault matrix's proxy row: Caddy goes away (killed: what is left of a restart once its
grace period is over) while streams are open through it. The clients see their streams end
with an error (no `[DONE]`), the api notices the disconnects and frees their slots, and a new
Caddy serves new requests as soon as it is up."""

from __future__ import annotations

import threading

import httpx
import pytest

from ..support.caddy import CaddyProcess, running_caddy
from ..support.polling import poll_until
from ..support.scrape import scrape, total
from ..support.server import ServerProcess

pytestmark = [pytest.mark.server, pytest.mark.proxy]

STREAMS = 3
BODY = {
    "model": "mock-model",
    "messages": [{"role": "user", "content": "hi"}],
    "max_tokens": 100,  # 100 tokens 40 ms apart (slow_api): 4 s, long enough to cut
    "stream": True,
}


def running(api: ServerProcess) -> float:
    return total(scrape(api.base_url), "llm_gateway_num_requests_running")


def disconnects(api: ServerProcess) -> float:
    return total(scrape(api.base_url), "llm_gateway_client_disconnects_total")


def read_stream(proxy: CaddyProcess, outcomes: list[str]) -> None:
    """One stream through the proxy, read to its end: 'done', or the error it ended with."""
    try:
        with (
            proxy.client(timeout=30) as client,
            client.stream("POST", "/v1/chat/completions", json=BODY) as r,
        ):
            text = "".join(r.iter_text())
        outcomes.append("done" if "data: [DONE]" in text else "ended without [DONE]")
    except httpx.HTTPError as exc:
        outcomes.append(type(exc).__name__)


def test_caddy_gone_mid_stream_ends_the_streams_frees_the_slots_and_a_new_one_serves(
    slow_api: ServerProcess,
) -> None:
    before = disconnects(slow_api)
    outcomes: list[str] = []
    with running_caddy(slow_api) as proxy:
        readers = [
            threading.Thread(target=read_stream, args=(proxy, outcomes)) for _ in range(STREAMS)
        ]
        for reader in readers:
            reader.start()
        poll_until(lambda: running(slow_api) == STREAMS, 15, what="every stream to be generating")
        proxy.proc.kill()
        for reader in readers:
            reader.join(30)
    assert len(outcomes) == STREAMS and "done" not in outcomes, outcomes
    # The api saw its clients (Caddy's connections) go: every slot is free again.
    poll_until(lambda: running(slow_api) == 0, 15, what="the slots to be freed")
    assert disconnects(slow_api) - before == STREAMS
    with running_caddy(slow_api) as again, again.client(timeout=30) as client:
        answer = client.post(
            "/v1/chat/completions", json={**BODY, "max_tokens": 2, "stream": False}
        )
    assert answer.status_code == 200
