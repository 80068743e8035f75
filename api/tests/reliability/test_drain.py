"""In process: when the app's shutdown event is set (the worker does it as its graceful period
runs out), open streams end with an error event and `[DONE]`, other requests get a 503."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI

from llm_gateway.app import create_app
from llm_gateway.lifecycle import shutdown_signal
from llm_gateway.serving import shutdown_schedule

from ..support.app import asgi_client, settings
from ..support.faulty_backends import CountingMock
from ..support.polling import async_poll_until
from ..support.reliability import CHAT, assert_error, chat_body
from ..support.sse import sse_payloads


def assert_idle(app: FastAPI) -> None:
    slots = app.state.registry.get("mock-model").admission
    assert (slots.running, slots.waiting) == (0, 0)


async def slots_show(app: FastAPI, running: int = 0, waiting: int = 0) -> None:
    slots = app.state.registry.get("mock-model").admission
    await async_poll_until(
        lambda: (slots.running, slots.waiting),
        10,
        until=lambda seen: seen == (running, waiting),
        what=f"(running, waiting) == ({running}, {waiting})",
    )


SLOW = {"mock_token_ms": 20, "mock_max_tokens": 100_000}  # a stream that would last ~30 min


async def test_an_open_stream_ends_with_an_error_event_then_done() -> None:
    counting = settings(model_backend="tests.support.faulty_backends:CountingMock")
    async with asgi_client(counting, backend=SLOW) as client:
        app = client.app
        (backend,) = app.state.registry.backends()
        assert isinstance(backend, CountingMock)
        request = asyncio.ensure_future(client.post(CHAT, json=chat_body(stream=True)))
        # The third token is asked for only once the second one's chunk was sent.
        await async_poll_until(lambda: backend.yielded, 10, until=lambda n: n >= 3)
        app.state.shutting_down.set()
        response = await asyncio.wait_for(request, 10)
        assert response.status_code == 200
        events = sse_payloads(response.text)
        assert events[-1] == "[DONE]"
        assert events[-2] == {
            "error": {
                "message": "The server is shutting down; retry the request.",
                "type": "server_error",
                "param": None,
                "code": "server_shutdown",
            }
        }
        content = [c for c in events[:-2] if "error" not in c]
        assert len(content) == len(events) - 2 >= 2  # it was cut mid-way, not before it began
        assert all(c["choices"][0]["finish_reason"] is None for c in content)
        assert_idle(app)


async def test_a_generating_non_streaming_request_and_a_queued_one_get_503() -> None:
    async with asgi_client(settings(max_concurrent=1), backend=SLOW) as client:
        app = client.app
        running = asyncio.ensure_future(client.post(CHAT, json=chat_body()))
        await slots_show(app, running=1)
        queued = asyncio.ensure_future(client.post(CHAT, json=chat_body(stream=True)))
        await slots_show(app, running=1, waiting=1)
        app.state.shutting_down.set()
        for response in await asyncio.wait_for(asyncio.gather(running, queued), 10):
            assert_error(response, 503, "server_error", "server_shutdown")
        assert_idle(app)


async def test_a_request_arriving_after_the_drain_gets_503_at_once() -> None:
    async with asgi_client(backend=SLOW) as client:
        app = client.app
        app.state.shutting_down.set()
        response = await asyncio.wait_for(client.post(CHAT, json=chat_body(stream=True)), 10)
        assert_error(response, 503, "server_error", "server_shutdown")
        assert (await client.get("/health")).status_code == 200
        assert_idle(app)


async def test_a_stream_that_finished_is_not_touched_by_a_later_drain() -> None:
    async with asgi_client() as client:
        response = await client.post(CHAT, json=chat_body(stream=True))
        client.app.state.shutting_down.set()
        events = sse_payloads(response.text)
        assert events[-1] == "[DONE]" and all("error" not in e for e in events[:-1])


def test_the_worker_finds_the_apps_shutdown_signal() -> None:
    app = create_app(settings())
    assert shutdown_signal(app) is app.state.shutting_down
    assert shutdown_signal(object()) is None


@pytest.mark.parametrize("graceful", [1, 3, 10, 30, 3600])
def test_the_drain_comes_before_uvicorns_cancel_which_comes_before_gunicorns_kill(
    graceful: int,
) -> None:
    drain_after, cancel_after = shutdown_schedule(graceful)
    assert 0 < drain_after < cancel_after < graceful
    # Time enough between the steps (uvicorn polls every 0.1 s), and not much taken away.
    assert cancel_after - drain_after >= 0.25 and graceful - cancel_after >= 0.25
    assert graceful - drain_after <= 2.0
