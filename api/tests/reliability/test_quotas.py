"""Per-key names, usage and quotas in one process: a spent daily token budget answers
`insufficient_quota`, too many requests a minute `rate_limit_exceeded`, both with OpenAI's
headers; other keys are unaffected; per-key counters match the `usage` the client was sent;
a store that is down fails open."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from llm_gateway.service.quotas import reset_text

from ..support.app import AppClient, asgi_client, settings
from ..support.reliability import CHAT, assert_error, chat_body
from ..support.scrape import parse, value
from ..support.sse import sse_payloads

ALICE = {"authorization": "Bearer sk-alice"}
BOB = {"x-api-key": "sk-bob"}
BUDGET = 40
KEYS = f"alice:sk-alice:tpd={BUDGET},bob:sk-bob,carol:sk-carol:rpm=2"
MESSAGES = {"model": "mock-model", "max_tokens": 4, "messages": [{"role": "user", "content": "hi"}]}


def keyed(tmp_path: Path, **extra: Any) -> Any:
    return settings(api_keys=KEYS, response_store=str(tmp_path / "store.db"), **extra)


async def chat(client: httpx.AsyncClient, headers: dict[str, str], i: int) -> httpx.Response:
    """Even i: folded; odd i: streamed with usage (both count)."""
    extra: dict[str, Any] = {"max_tokens": 3}
    if i % 2:
        extra["stream_options"] = {"include_usage": True}
    return await client.post(CHAT, json=chat_body(stream=bool(i % 2), **extra), headers=headers)


def usage_of(response: httpx.Response) -> dict[str, int]:
    if response.headers["content-type"].startswith("text/event-stream"):
        return dict(sse_payloads(response.text)[-2]["usage"])
    return dict(response.json()["usage"])


async def scrape(client: AppClient) -> Any:
    return parse((await client.get("/metrics")).text)


async def test_a_spent_budget_refuses_its_key_only(tmp_path: Path) -> None:
    async with asgi_client(keyed(tmp_path)) as client:
        prompt = completion = answered = 0
        while True:
            r = await chat(client, ALICE, answered)
            if r.status_code != 200:
                break
            assert prompt + completion < BUDGET, "answered although the budget was spent"
            assert r.headers["x-ratelimit-limit-tokens"] == str(BUDGET)
            remaining = int(r.headers["x-ratelimit-remaining-tokens"])
            assert remaining == BUDGET - prompt - completion  # as it stood before this one
            used = usage_of(r)
            prompt, completion = (
                prompt + used["prompt_tokens"],
                completion + used["completion_tokens"],
            )
            answered += 1
            assert answered < 50
        assert answered >= 2 and prompt + completion >= BUDGET
        assert_error(r, 429, "insufficient_quota", "insufficient_quota")
        assert r.headers["x-ratelimit-remaining-tokens"] == "0"
        assert r.headers["x-ratelimit-reset-tokens"].endswith("s")
        # On the Messages API the same refusal in Anthropic's shape.
        refused = await client.post("/v1/messages", json=MESSAGES, headers=ALICE)
        assert refused.status_code == 429
        assert refused.json()["error"]["type"] == "rate_limit_error"
        # Reading one's usage is not refused, and costs nothing.
        mine = (await client.get("/v1/usage", headers=ALICE)).json()
        assert mine["key"] == "alice"
        assert (mine["requests"], mine["prompt_tokens"], mine["completion_tokens"]) == (
            answered,
            prompt,
            completion,
        )
        assert mine["quota"] == {"tokens_per_day": BUDGET, "requests_per_minute": None}
        assert mine["remaining_tokens"] == 0
        # Bob has no quota: unaffected, and told no limits.
        bob_prompt = bob_completion = 0
        for i in range(4):
            r = await chat(client, BOB, i)
            assert r.status_code == 200, r.text
            assert "x-ratelimit-limit-tokens" not in r.headers
            bob_prompt += usage_of(r)["prompt_tokens"]
            bob_completion += usage_of(r)["completion_tokens"]
        bobs = (await client.get("/v1/usage", headers=BOB)).json()
        assert (bobs["total_tokens"], bobs["remaining_tokens"]) == (
            bob_prompt + bob_completion,
            None,
        )
        seen = await scrape(client)
    assert value(seen, "llm_gateway_key_prompt_tokens_total", key="alice") == prompt
    assert value(seen, "llm_gateway_key_completion_tokens_total", key="alice") == completion
    assert value(seen, "llm_gateway_key_prompt_tokens_total", key="bob") == bob_prompt
    assert value(seen, "llm_gateway_key_completion_tokens_total", key="bob") == bob_completion
    assert value(seen, "llm_gateway_key_requests_total", key="alice") == answered + 3
    refusals = "llm_gateway_key_refusals_total"
    assert value(seen, refusals, key="alice", type="insufficient_quota") == 2  # chat, messages
    assert value(seen, "llm_gateway_key_quota", key="alice", kind="tokens_per_day") == BUDGET
    assert "sk-alice" not in str(seen) and "sk-bob" not in str(seen)


async def test_requests_per_minute_per_key_name(tmp_path: Path) -> None:
    carol = {"authorization": "Bearer sk-carol"}
    async with asgi_client(keyed(tmp_path)) as client:
        client.app.state.quotas.clock = lambda: 1_800_000_000.0 + 15  # 45 s before a minute ends
        for left in ("1", "0"):
            r = await chat(client, carol, 0)
            assert r.status_code == 200
            assert r.headers["x-ratelimit-limit-requests"] == "2"
            assert r.headers["x-ratelimit-remaining-requests"] == left
            assert r.headers["x-ratelimit-reset-requests"] == "45s"
        refused = await chat(client, carol, 0)
        assert_error(refused, 429, "rate_limit_exceeded", "rate_limit_exceeded")
        assert refused.headers["retry-after"] == "45"
        assert "Limit 2" in refused.json()["error"]["message"]
        # GETs are not counted; other keys have their own minute.
        assert (await client.get("/v1/models", headers=carol)).status_code == 200
        assert (await chat(client, ALICE, 0)).status_code == 200
        client.app.state.quotas.clock = lambda: 1_800_000_000.0 + 60  # the next minute
        assert (await chat(client, carol, 0)).status_code == 200


async def test_a_store_that_is_down_fails_open() -> None:
    # A Redis nobody listens on (port 1): every store call fails, the server still starts.
    s = settings(api_keys=KEYS, response_store="redis://127.0.0.1:1/0")
    async with asgi_client(s) as client:
        for _ in range(3):
            assert (await chat(client, ALICE, 0)).status_code == 200
        unavailable = await client.get("/v1/usage", headers=ALICE)
        assert_error(unavailable, 503, "server_error", "store_unavailable")
        seen = await scrape(client)
    assert value(seen, "llm_gateway_store_errors_total", operation="quota_state") == 3
    assert value(seen, "llm_gateway_store_errors_total", operation="add_usage") == 3
    assert value(seen, "llm_gateway_key_requests_total", key="alice") == 4


async def test_without_keys_everyone_is_one_name_and_has_no_usage_endpoint() -> None:
    async with asgi_client() as client:
        r = await chat(client, {}, 0)
        assert r.status_code == 200
        assert (await client.get("/v1/usage")).status_code == 404
        seen = await scrape(client)
    assert (
        value(seen, "llm_gateway_key_prompt_tokens_total", key="open")
        == usage_of(r)["prompt_tokens"]
    )
    assert not [labels for (name, labels) in seen if ("key", "") in labels]


def test_reset_durations_are_written_as_openai_writes_them() -> None:
    assert [reset_text(s) for s in (0.2, 1, 59.5, 60, 360, 3723)] == [
        "1s",
        "1s",
        "1m0s",
        "1m0s",
        "6m0s",
        "1h2m3s",
    ]
