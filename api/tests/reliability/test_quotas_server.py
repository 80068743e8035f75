"""Quotas across workers and replicas: two keys, one with a small daily token budget. The
limited key is refused with `insufficient_quota` once its budget is spent, whichever worker
(SQLite store) or replica (Redis) serves it; the other key is unaffected; the per-key counters
match the tokens the clients were sent in `usage`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ..support.redis_server import RedisProcess
from ..support.reliability import CHAT, CLOSE, TIMEOUT, assert_error, chat_body
from ..support.scrape import scrape, value
from ..support.server import ServerProcess, running_server

pytestmark = pytest.mark.server

BUDGET = 60
KEYS = f"alice:sk-alice:tpd={BUDGET},bob:sk-bob"
ALICE = {"authorization": "Bearer sk-alice", **CLOSE}
BOB = {"authorization": "Bearer sk-bob", **CLOSE}


def post(server: ServerProcess, headers: dict[str, str]) -> httpx.Response:
    """On a fresh connection each time, so the workers share them."""
    return httpx.post(
        server.base_url + CHAT, json=chat_body(max_tokens=3), headers=headers, timeout=TIMEOUT
    )


def tokens(response: httpx.Response) -> int:
    usage: dict[str, Any] = response.json()["usage"]
    return int(usage["total_tokens"])


def pid_of(server: ServerProcess, response: httpx.Response) -> int:
    return int(server.request_line(response.headers["x-request-id"])["pid"])


def spend_budget(servers: list[ServerProcess]) -> tuple[int, int]:
    """Alice's requests, round robin over `servers`, until one is refused: (answered, tokens)."""
    answered = spent = 0
    while True:
        r = post(servers[answered % len(servers)], ALICE)
        if r.status_code != 200:
            assert_error(r, 429, "insufficient_quota", "insufficient_quota")
            return answered, spent
        assert spent < BUDGET, "answered although the budget was spent"
        spent += tokens(r)
        answered += 1
        assert answered < 100


def refused_everywhere(servers: list[ServerProcess], *, workers: int) -> None:
    """Alice is refused on every server, by each of its workers."""
    for server in servers:
        refused_by: set[int] = set()
        for _ in range(40):
            r = post(server, ALICE)
            assert_error(r, 429, "insufficient_quota", "insufficient_quota")
            refused_by.add(pid_of(server, r))
            if len(refused_by) == workers:
                break
        assert len(refused_by) == workers, f"only worker(s) {refused_by} were asked"


@pytest.fixture
def redis() -> Iterator[RedisProcess]:
    server = RedisProcess()
    yield server
    server.close()


def test_two_workers_share_one_budget_through_sqlite() -> None:
    with running_server(WORKERS="2", API_KEYS=KEYS) as server:
        answered, spent = spend_budget([server])
        assert spent >= BUDGET and answered >= 2
        refused_everywhere([server], workers=2)
        bob = [post(server, BOB) for _ in range(4)]
        assert all(r.status_code == 200 for r in bob)
        seen = scrape(server.base_url)
    counted = value(seen, "llm_gateway_key_prompt_tokens_total", key="alice") + value(
        seen, "llm_gateway_key_completion_tokens_total", key="alice"
    )
    assert counted == spent
    bob_counted = value(seen, "llm_gateway_key_prompt_tokens_total", key="bob") + value(
        seen, "llm_gateway_key_completion_tokens_total", key="bob"
    )
    assert bob_counted == sum(tokens(r) for r in bob)


def test_two_replicas_share_one_budget_through_redis(redis: RedisProcess) -> None:
    env = {"WORKERS": "2", "API_KEYS": KEYS, "RESPONSE_STORE": redis.url}
    with running_server(**env) as first, running_server(**env) as second:
        answered, spent = spend_budget([first, second])
        assert spent >= BUDGET and answered >= 2
        refused_everywhere([first, second], workers=2)
        assert all(post(s, BOB).status_code == 200 for s in (first, second) for _ in range(2))
        usage = httpx.get(first.base_url + "/v1/usage", headers=ALICE, timeout=TIMEOUT).json()
        assert (usage["requests"], usage["total_tokens"]) == (answered, spent)
        counted = sum(
            value(scrape(s.base_url), f"llm_gateway_key_{kind}_tokens_total", key="alice")
            for s in (first, second)
            for kind in ("prompt", "completion")
        )
    assert counted == spent
