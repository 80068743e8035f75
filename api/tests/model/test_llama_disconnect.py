"""A client that goes away frees the model: generation stops within a few tokens."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import openai
import pytest

from ..helpers import ServerProcess
from ..observability.scrape import parse, total

LONG = {
    "model": "smollm2",
    "messages": [{"role": "user", "content": "Write a very long story about a dragon."}],
    "max_tokens": 1500,
    "temperature": 0.9,
}


def generated(server: ServerProcess) -> float:
    samples = parse(httpx.get(server.base_url + "/metrics", timeout=10).text)
    return total(samples, "llm_gateway_generation_tokens_total")


def disconnects(server: ServerProcess) -> float:
    samples = parse(httpx.get(server.base_url + "/metrics", timeout=10).text)
    return total(samples, "llm_gateway_client_disconnects_total")


def settled(server: ServerProcess) -> float:
    """The token counter once it has stopped moving."""
    before = generated(server)
    while True:
        time.sleep(1.0)
        now = generated(server)
        if now == before:
            return now
        before = now


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (clock ticks of 1/100 s)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100


def assert_freed(server: ServerProcess, llm: openai.OpenAI, start_tokens: float) -> None:
    # The generation thread must have stopped: a worker still decoding the dropped
    # request burns one to two CPU seconds a second; an idle one next to nothing.
    (worker,) = server.worker_pids()
    time.sleep(1.0)
    before = cpu_seconds(worker)
    time.sleep(2.0)
    assert cpu_seconds(worker) - before < 0.5, "the worker kept generating"
    follow_up = llm.chat.completions.create(
        model="smollm2", messages=[{"role": "user", "content": "Hi"}], max_tokens=5
    )
    assert follow_up.choices[0].message.content
    stopped_at = settled(server)
    # The dropped request made far fewer than its 1500 tokens, and nothing grows any more.
    assert stopped_at - start_tokens < 300
    time.sleep(1.5)
    assert generated(server) == stopped_at


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "non-stream"])
def test_dropped_client_frees_the_worker(
    llama_server: ServerProcess, llm: openai.OpenAI, stream: bool
) -> None:
    start_tokens = settled(llama_server)
    start_disconnects = disconnects(llama_server)
    url = llama_server.base_url + "/v1/chat/completions"
    if stream:
        with (
            httpx.Client(timeout=60) as client,
            client.stream("POST", url, json={**LONG, "stream": True}) as r,
        ):
            for n, _ in enumerate(r.iter_raw()):
                if n >= 5:
                    break  # leaving the block closes the connection mid-stream
    else:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(url, json=LONG, timeout=httpx.Timeout(60, read=1.5))
    assert_freed(llama_server, llm, start_tokens)
    deadline = time.monotonic() + 10
    while disconnects(llama_server) <= start_disconnects and time.monotonic() < deadline:
        time.sleep(0.2)
    assert disconnects(llama_server) == start_disconnects + 1


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
            running = total(
                parse(httpx.get(url + "/metrics", timeout=5).text),
                "llm_gateway_num_requests_running",
            )
            assert running == 1
            next(chunks)  # still streaming between the checks
