"""End to end through the Compose stack: Caddy with its local CA (verification on) in front
of the api container running the default model."""

from __future__ import annotations

import subprocess
import threading
import time

import httpx
import openai

from ..support.default_model import NEVER_END
from ..support.edge import ALLOWED_ORIGIN, check_cors
from ..support.paths import REPO_ROOT
from ..support.polling import poll_until
from ..support.scrape import scrape, total
from ..support.spec import SpecValidator
from ..support.sse import carries_content, read_unbuffered, sse_payloads
from .conftest import Stack

MESSAGES = [{"role": "user", "content": "Write a few sentences about the sea."}]


def sdk(stack: Stack) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=stack.base_url + "/v1",
        api_key="unused",
        http_client=httpx.Client(verify=stack.tls, timeout=120),
        max_retries=0,
    )


def chat_requests(port: int) -> float:
    """Chat requests one api replica has answered, from its own /metrics."""
    samples = scrape(f"http://127.0.0.1:{port}")
    return total(samples, "llm_gateway_requests_total", route="/v1/chat/completions")


def generating(ports: list[int]) -> float:
    """Generations running in the api replicas on these ports."""
    running = "llm_gateway_num_requests_running"
    return sum(total(scrape(f"http://127.0.0.1:{port}"), running) for port in ports)


def test_chat_through_the_proxy(stack: Stack, spec: SpecValidator) -> None:
    client = sdk(stack)
    completion = client.chat.completions.create(
        model="gpt-3.5-turbo",
        messages=MESSAGES,
        max_tokens=20,
        seed=3,  # type: ignore[arg-type]
    )
    spec.validate("CreateChatCompletionResponse", completion.model_dump(exclude_unset=True))
    assert completion.choices[0].message.content
    text = ""
    stream = client.chat.completions.create(
        model="gpt-3.5-turbo",
        messages=MESSAGES,  # type: ignore[arg-type]
        max_tokens=20,
        seed=3,
        stream=True,
        stream_options={"include_usage": True},
    )
    for chunk in stream:
        spec.validate("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
        text += "".join(c.delta.content or "" for c in chunk.choices)
    assert text == completion.choices[0].message.content


def test_chunks_arrive_incrementally(stack: Stack) -> None:
    # Unbuffered: text reaches the client, read after read, while the api is still generating
    # (asked of the api itself). The model cannot end early (its end tokens are banned), so
    # the stream lasts 400 tokens however fast it goes: far longer than these five checks.
    ports = stack.api_ports()
    request = {
        "model": "gpt-3.5-turbo",
        "messages": MESSAGES,
        "max_tokens": 400,
        "stream": True,
        "logit_bias": NEVER_END,
    }
    with (
        stack.client() as client,
        client.stream("POST", "/v1/chat/completions", json=request) as r,
    ):
        assert r.status_code == 200
        payloads = read_unbuffered(r, lambda: generating(ports) == 1, reads=5)
    assert payloads[-1] == "[DONE]"
    assert sum(carries_content(p) for p in payloads) > 10


def test_cors(stack: Stack) -> None:
    with stack.client() as client:
        check_cors(client, "authorization,content-type,x-stainless-lang")
        r = client.get("/v1/models", headers={"Origin": ALLOWED_ORIGIN})
        assert r.headers.get_list("access-control-allow-origin") == [ALLOWED_ORIGIN]


def test_metrics_only_on_the_api_loopback_port(stack: Stack) -> None:
    with stack.client() as client:
        assert client.get("/metrics").status_code == 404
    port = stack.api_ports()[0]
    r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert r.status_code == 200
    assert "llm_gateway_requests_total" in r.text


def test_scaled_replicas_share_the_load(stack: Stack) -> None:
    stack.compose("up", "-d", "--scale", "api=2", "--no-recreate", "--wait")
    ports = stack.api_ports()
    assert len(ports) == 2
    before = [chat_requests(port) for port in ports]
    body = {"model": "gpt-3.5-turbo", "messages": MESSAGES, "max_tokens": 2}

    def served_after_one_more() -> list[float]:
        with stack.client() as client:  # a new connection each round
            assert client.post("/v1/chat/completions", json=body).status_code == 200
        return [chat_requests(port) - b for port, b in zip(ports, before, strict=True)]

    poll_until(served_after_one_more, 90, 0, until=all, what="requests served by each replica")
    stack.compose("up", "-d", "--scale", "api=1", "--wait")


def test_loadtest_run_passes_and_writes_its_report(stack: Stack) -> None:
    results = REPO_ROOT / "loadtest/results"
    started = time.time()
    run = subprocess.run(
        [str(REPO_ROOT / "scripts/loadtest.sh")],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert "loadtest PASS" in run.stdout + run.stderr
    reports = [p for p in results.glob("*.html") if p.stat().st_mtime >= started]
    assert reports, "no HTML report written"
    assert any(p.stat().st_mtime >= started for p in results.glob("*.csv"))


def test_stop_lets_a_running_stream_finish(stack: Stack) -> None:
    body = ""
    first_chunk = threading.Event()

    def read() -> None:
        nonlocal body
        request = {
            "model": "gpt-3.5-turbo",
            "messages": MESSAGES,
            "max_tokens": 200,
            "stream": True,
        }
        with (
            stack.client() as client,
            client.stream("POST", "/v1/chat/completions", json=request) as r,
        ):
            for raw in r.iter_raw():
                body += raw.decode()
                first_chunk.set()

    reader = threading.Thread(target=read)
    reader.start()
    assert first_chunk.wait(60)
    stack.compose("stop", "api", timeout=120)
    reader.join(120)
    payloads = sse_payloads(body)
    assert payloads[-1] == "[DONE]"
    finishes = [c["choices"][0]["finish_reason"] for c in payloads[:-1] if c.get("choices")]
    assert finishes[-1] in {"stop", "length"}
    assert not any("error" in c for c in payloads[:-1])
    stack.compose("start", "api")
    stack.compose("up", "-d", "--wait")
