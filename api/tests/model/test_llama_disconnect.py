"""A client that goes away frees the model: generation stops within a few tokens."""

from __future__ import annotations

import json
import socket

import httpx
import openai
import pytest

from ..support.default_model import NEVER_END
from ..support.polling import poll_until
from ..support.procfs import is_idle
from ..support.scrape import Samples, scrape, total
from ..support.server import ServerProcess

# A generation that cannot end early: 1500 tokens, the model's end tokens banned.
LONG = {
    "model": "smollm2",
    "messages": [{"role": "user", "content": "Write a very long story about a dragon."}],
    "max_tokens": 1500,
    "temperature": 0.9,
    "logit_bias": NEVER_END,
}


def generated(samples: Samples) -> float:
    return total(samples, "llm_gateway_generation_tokens_total")


def generating(server: ServerProcess) -> float:
    return total(scrape(server.base_url), "llm_gateway_num_requests_running")


def idle(server: ServerProcess) -> Samples:
    """/metrics once no generation holds a slot (tokens are counted when a request ends)."""
    return poll_until(
        lambda: scrape(server.base_url),
        60,
        until=lambda samples: total(samples, "llm_gateway_num_requests_running") == 0,
        what="no generation running",
    )


def drop_mid_stream(server: ServerProcess, request_id: str) -> None:
    with (
        httpx.Client(timeout=60) as client,
        client.stream(
            "POST",
            server.base_url + "/v1/chat/completions",
            json={**LONG, "stream": True},
            headers={"x-request-id": request_id},
        ) as r,
    ):
        for n, _ in enumerate(r.iter_raw()):
            if n >= 5:
                break  # leaving the block closes the connection mid-stream


def drop_while_generating(server: ServerProcess, request_id: str) -> None:
    """A non-streaming request whose client hangs up once the model is at work on it."""
    body = json.dumps(LONG).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\nx-request-id: {request_id}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as client:
        client.sendall(head.encode() + body)
        poll_until(lambda: generating(server) == 1, 60, what="the generation to start")


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "non-stream"])
def test_dropped_client_frees_the_worker(
    llama_server: ServerProcess, llm: openai.OpenAI, stream: bool
) -> None:
    before = idle(llama_server)
    request_id = f"dropped-{'stream' if stream else 'json'}"
    (drop_mid_stream if stream else drop_while_generating)(llama_server, request_id)

    line = llama_server.request_line(request_id, timeout=60)
    assert line["disconnected"] is True
    dropped = line["completion_tokens"]
    assert dropped < 300  # far fewer than the 1500 it would have made
    # The generation thread stopped: a worker still decoding the dropped request uses one to
    # two CPUs; an idle one next to nothing.
    (worker,) = llama_server.worker_pids()
    poll_until(lambda: is_idle(worker), 30, what="the worker to stop generating")

    follow_up = llm.chat.completions.create(
        model="smollm2", messages=[{"role": "user", "content": "Hi"}], max_tokens=5
    )
    assert follow_up.choices[0].message.content
    assert follow_up.usage is not None
    after = idle(llama_server)
    # Exactly the dropped request's tokens and the follow-up's were made: nothing else.
    assert generated(after) - generated(before) == dropped + follow_up.usage.completion_tokens
    disconnects = "llm_gateway_client_disconnects_total"
    assert total(after, disconnects) == total(before, disconnects) + 1


def test_health_and_metrics_answer_while_the_model_generates(
    llama_server: ServerProcess,
) -> None:
    """Generation runs off the event loop: the one worker keeps answering meanwhile."""
    url = llama_server.base_url
    with (
        httpx.Client(timeout=60) as streamer,
        streamer.stream("POST", url + "/v1/chat/completions", json={**LONG, "stream": True}) as r,
    ):
        chunks = r.iter_raw()
        next(chunks)
        next(chunks)  # generating now
        for _ in range(5):
            assert httpx.get(url + "/health", timeout=5).status_code == 200
            assert generating(llama_server) == 1
            next(chunks)  # still streaming between the checks
