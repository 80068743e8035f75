"""Metrics in one process: per-app registries, bounded labels, what each request adds."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from prometheus_client import generate_latest

from llm_gateway.observability.metrics import Metrics
from llm_gateway.service.admission import Admission

from ..support.app import asgi_client, settings
from ..support.polling import async_poll_until
from ..support.scrape import HISTOGRAMS, parse, total, value

CHAT_ROUTE = "/v1/chat/completions"
CHAT = {"model": "mock-model", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


async def scrape(client: httpx.AsyncClient) -> Any:
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=")
    return parse(r.text)


def chat_requests(samples: Any, status: str = "200") -> float:
    return value(
        samples,
        "llm_gateway_requests_total",
        route=CHAT_ROUTE,
        method="POST",
        status=status,
    )


async def test_two_apps_in_one_process_count_independently() -> None:
    async with asgi_client() as a, asgi_client() as b:
        for _ in range(3):
            assert (await a.post(CHAT_ROUTE, json=CHAT)).status_code == 200
        assert (await b.post(CHAT_ROUTE, json=CHAT)).status_code == 200
        seen_a, seen_b = await scrape(a), await scrape(b)
    assert chat_requests(seen_a) == 3
    assert chat_requests(seen_b) == 1
    assert value(seen_a, "llm_gateway_generation_tokens_total", model="mock-model") == 12
    assert value(seen_b, "llm_gateway_generation_tokens_total", model="mock-model") == 4


async def test_a_request_adds_tokens_latencies_and_info() -> None:
    async with asgi_client() as client:
        r = await client.post(CHAT_ROUTE, json={**CHAT, "model": "gpt-3.5-turbo"})
        usage = r.json()["usage"]
        seen = await scrape(client)
    model = {"model": "gpt-3.5-turbo"}  # labelled by the id the client asked for
    assert value(seen, "llm_gateway_prompt_tokens_total", **model) == usage["prompt_tokens"]
    assert value(seen, "llm_gateway_generation_tokens_total", **model) == 4
    for histogram in HISTOGRAMS:
        assert value(seen, histogram + "_count", **model) == 1, histogram
    info = {"version": "0.1.0", "backend": "mock", "model": "mock-model"}
    assert value(seen, "llm_gateway_build_info", **info) == 1
    assert value(seen, "llm_gateway_num_requests_running", model="mock-model") == 0
    assert value(seen, "llm_gateway_num_requests_waiting", model="mock-model") == 0


async def test_routes_are_templates_and_unknown_paths_share_one_label() -> None:
    async with asgi_client(settings(max_body_bytes=4096)) as client:
        await client.get("/v1/models/mock-model")
        await client.get("/v1/models/some/thing/else")
        for i in range(5):
            await client.get(f"/scanner/{i}")
        await client.put("/v1/chat/completions")  # wrong method
        await client.post(CHAT_ROUTE, content=b"x" * 5000)  # refused before routing
        seen = await scrape(client)
    requests = "llm_gateway_requests_total"
    model_route = "/v1/models/{model_id:path}"
    assert value(seen, requests, route=model_route, method="GET", status="200") == 1
    assert value(seen, requests, route=model_route, method="GET", status="404") == 1
    assert value(seen, requests, route="other", method="GET", status="404") == 5
    assert value(seen, requests, route=CHAT_ROUTE, method="PUT", status="405") == 1
    assert chat_requests(seen, "413") == 1
    assert not [labels for (name, labels) in seen if ("route", "/scanner/0") in labels]
    assert value(seen, "llm_gateway_request_errors_total", type="invalid_request_error") == 8


async def test_errors_are_counted_by_openai_type_even_mid_stream() -> None:
    s = settings(model_backend="tests.support.faulty_backends:FailsMidStream")
    async with asgi_client(s) as client:
        r = await client.post(CHAT_ROUTE, json={**CHAT, "stream": True})
        assert r.status_code == 200 and "server_error" in r.text
        assert (await client.post(CHAT_ROUTE, json=CHAT)).status_code == 500
        seen = await scrape(client)
    assert value(seen, "llm_gateway_request_errors_total", type="server_error") == 2
    assert chat_requests(seen, "200") == 1
    assert chat_requests(seen, "500") == 1


async def test_metrics_scrapes_are_counted_under_their_own_route() -> None:
    async with asgi_client() as client:
        await scrape(client)
        seen = await scrape(client)
    assert total(seen, "llm_gateway_requests_total", route="/metrics") == 1
    assert total(seen, "llm_gateway_requests_total", route=CHAT_ROUTE) == 0


async def test_running_and_waiting_follow_the_slots() -> None:
    metrics = Metrics(version="t")
    slots = Admission(1, 4, 5.0, on_change=metrics.add_model("m", "mock"))

    def gauges() -> tuple[float, float]:
        seen = parse(generate_latest(metrics.registry).decode())
        return (
            value(seen, "llm_gateway_num_requests_running", model="m"),
            value(seen, "llm_gateway_num_requests_waiting", model="m"),
        )

    await slots.acquire()
    assert gauges() == (1, 0)
    queued = asyncio.create_task(slots.acquire())
    await async_poll_until(lambda: slots.waiting, 5, what="the second acquire to queue")
    assert gauges() == (1, 1)
    slots.release()
    await queued
    assert gauges() == (1, 0)
    slots.release()
    assert gauges() == (0, 0)


class _Record:
    """A finished generation's figures, as GenerationStats carries them."""

    model = "m"
    queue_wait: float | None = 0.3
    started = 10.0
    first_token_at: float | None = 10.1
    finished_at: float | None = 10.5
    prompt_tokens = 3
    cached_tokens: int | None = 2
    completion_tokens = 1
    disconnected = False
    ttft = 0.1


def test_overhead_is_end_to_end_minus_queue_and_backend_time() -> None:
    metrics = Metrics(version="t")
    request = {"route": CHAT_ROUTE, "method": "POST", "status": 200, "error_type": None}
    metrics.observe_request(**request, duration=1.0, generation=_Record())
    refused = _Record()
    refused.queue_wait = None  # a queue refusal (429) never ran: no overhead to speak of
    metrics.observe_request(**request, duration=1.0, generation=refused)
    seen = parse(generate_latest(metrics.registry).decode())
    overhead = "llm_gateway_request_overhead_seconds"
    assert value(seen, overhead + "_count", model="m") == 1
    assert abs(value(seen, overhead + "_sum", model="m") - 0.2) < 1e-9  # 1.0 - 0.3 - 0.5
    # Prompt tokens and, of them, those from the backend's cache (both generations).
    assert value(seen, "llm_gateway_prompt_tokens_total", model="m") == 6
    assert value(seen, "llm_gateway_prompt_tokens_cached_total", model="m") == 4


async def test_overhead_leaves_out_the_backends_time() -> None:
    """The mock takes 200 ms before its first token: end to end sees it, overhead not."""
    async with asgi_client(backend={"mock_ttft_ms": 200}) as client:
        for body in (CHAT, {**CHAT, "stream": True}):
            assert (await client.post(CHAT_ROUTE, json=body)).status_code == 200
        seen = await scrape(client)
    model = {"model": "mock-model"}
    e2e = value(seen, "llm_gateway_e2e_request_latency_seconds_sum", **model)
    overhead = value(seen, "llm_gateway_request_overhead_seconds_sum", **model)
    assert value(seen, "llm_gateway_request_overhead_seconds_count", **model) == 2
    assert e2e - overhead >= 2 * 0.2
    assert overhead > 0
