"""Locust load test for the OpenAI-compatible chat endpoint.

Two kinds of users post to `/v1/chat/completions`: streaming (weight 3) and non-streaming
(weight 1). Streams are parsed by hand as SSE; time to first token ("TTFT") and time per output
token ("TPOT") are reported as entries of their own in locust's stats, so the CSV and HTML
reports carry their percentiles. When locust quits, the failure ratio and the TTFT p95 are
checked against thresholds and turned into the process exit code.

Settings (environment):
  LOADTEST_HOST               target base URL (or locust's --host); http(s)://127.0.0.1:PORT
  LOADTEST_MODEL              model id to request (gpt-3.5-turbo)
  LOADTEST_MAX_TOKENS         max_tokens per request (64)
  LOADTEST_API_KEY            sent as `Authorization: Bearer ...` when set
  LOADTEST_CA_CERT            PEM file of the CA that signed the server's certificate
  LOADTEST_TIMEOUT_S          connect/read timeout per request, seconds (60)
  LOADTEST_MAX_FAILURE_RATIO  most failed requests / all requests for a pass (0.01)
  LOADTEST_MAX_TTFT_P95_MS    highest 95th-percentile time to first token for a pass (2000)
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent
import requests
from locust import HttpUser, between, events, stats, task
from locust.clients import ResponseContextManager
from locust.env import Environment
from locust.runners import WorkerRunner

CHAT_PATH = "/v1/chat/completions"
CHAT_NAME = "chat"
STREAM_NAME = "chat stream"
TTFT = "TTFT"
TPOT = "TPOT"
METRIC_TYPES = frozenset({TTFT, TPOT})

PROMPTS = (
    "Say hello in one sentence.",
    "Name three colours.",
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "Give me a synonym for 'fast'.",
    "Count from one to five.",
    "Tell me a very short joke.",
    "What is two plus two?",
)


def _env_number(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"loadtest: {name}={raw!r} is not a number") from None
    if value < minimum:
        raise SystemExit(f"loadtest: {name}={raw!r} must be at least {minimum:g}")
    return value


@dataclass(frozen=True)
class Config:
    """Every setting, read and checked once when locust loads this file."""

    model: str
    max_tokens: int
    api_key: str | None
    ca_cert: str | None
    timeout_s: float
    max_failure_ratio: float
    max_ttft_p95_ms: float

    @classmethod
    def from_env(cls) -> Config:
        ca_cert = os.environ.get("LOADTEST_CA_CERT") or None
        if ca_cert is not None and not Path(ca_cert).is_file():
            raise SystemExit(f"loadtest: LOADTEST_CA_CERT={ca_cert!r} is not a readable file")
        return cls(
            model=os.environ.get("LOADTEST_MODEL") or "gpt-3.5-turbo",
            max_tokens=int(_env_number("LOADTEST_MAX_TOKENS", 64, minimum=1)),
            api_key=os.environ.get("LOADTEST_API_KEY") or None,
            ca_cert=ca_cert,
            timeout_s=_env_number("LOADTEST_TIMEOUT_S", 60, minimum=0.001),
            max_failure_ratio=_env_number("LOADTEST_MAX_FAILURE_RATIO", 0.01),
            max_ttft_p95_ms=_env_number("LOADTEST_MAX_TTFT_P95_MS", 2000),
        )


CONFIG = Config.from_env()


def chat_body(*, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": CONFIG.model,
        "messages": [{"role": "user", "content": random.choice(PROMPTS)}],
        "max_tokens": CONFIG.max_tokens,
    }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def http_problem(response: ResponseContextManager) -> str | None:
    """Why the response is not a 200, or None when it is."""
    if response.error is not None:
        return f"request failed: {response.error!r}"
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    return None


def completion_tokens(usage: Any) -> int | None:
    if not isinstance(usage, dict):
        return None
    tokens = usage.get("completion_tokens")
    return tokens if isinstance(tokens, int) and not isinstance(tokens, bool) else None


@dataclass
class StreamResult:
    """What one SSE stream delivered, with perf_counter timestamps."""

    first_token_at: float | None = None
    done: bool = False
    usage: Any = None
    bytes_read: int = 0
    problem: str | None = None


def read_stream(response: requests.Response) -> StreamResult:
    """Parse an OpenAI chat stream line by line; stop at the first protocol problem."""
    result = StreamResult()
    for raw_line in response.iter_lines():
        result.bytes_read += len(raw_line) + 1
        line = raw_line.decode("utf-8", errors="replace")
        if not line or line.startswith(":"):  # event separator or SSE comment
            continue
        if not line.startswith("data:"):
            result.problem = f"unexpected SSE line: {line[:100]!r}"
            return result
        data = line.removeprefix("data:").strip()
        if result.done:
            result.problem = "data after [DONE]"
            return result
        if data == "[DONE]":
            result.done = True
            continue
        try:
            chunk = json.loads(data)
        except ValueError:
            result.problem = f"chunk is not JSON: {data[:100]!r}"
            return result
        if not isinstance(chunk, dict):
            result.problem = f"chunk is not a JSON object: {data[:100]!r}"
            return result
        if "error" in chunk:
            error = chunk["error"]
            message = error.get("message") if isinstance(error, dict) else error
            result.problem = f"error event in stream: {message}"
            return result
        if chunk.get("usage") is not None:
            result.usage = chunk["usage"]
        if result.first_token_at is None and any(
            isinstance(choice, dict) and (choice.get("delta") or {}).get("content")
            for choice in chunk.get("choices") or ()
        ):
            result.first_token_at = time.perf_counter()
    return result


class ChatUser(HttpUser):
    """Shared set-up: TLS trust, auth header, think time."""

    abstract = True
    host = os.environ.get("LOADTEST_HOST") or None
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        # The target and the CA it is checked against come only from the LOADTEST_* settings,
        # so proxy or REQUESTS_CA_BUNDLE variables in the environment cannot change a run.
        self.client.trust_env = False
        if CONFIG.ca_cert is not None:
            self.client.verify = CONFIG.ca_cert  # verification stays on, against this CA
        if CONFIG.api_key is not None:
            self.client.headers["Authorization"] = f"Bearer {CONFIG.api_key}"


class NonStreamingChatUser(ChatUser):
    weight = 1

    @task
    def chat(self) -> None:
        with self.client.post(
            CHAT_PATH,
            json=chat_body(stream=False),
            name=CHAT_NAME,
            timeout=CONFIG.timeout_s,
            catch_response=True,
        ) as response:
            problem = http_problem(response) or self._body_problem(response)
            if problem:
                response.failure(problem)
            else:
                response.success()

    @staticmethod
    def _body_problem(response: ResponseContextManager) -> str | None:
        try:
            body = response.json()
        except ValueError:
            return f"body is not JSON: {response.text[:100]!r}"
        if not isinstance(body, dict) or body.get("object") != "chat.completion":
            return f"not a chat.completion: {response.text[:100]!r}"
        choices = body.get("choices")
        if not isinstance(choices, list) or not choices:
            return "no choices"
        message = choices[0].get("message") if isinstance(choices[0], dict) else None
        if not isinstance(message, dict) or not (
            message.get("content") or message.get("tool_calls")
        ):
            return "first choice has no content"
        if completion_tokens(body.get("usage")) is None:
            return "usage.completion_tokens missing"
        return None


class StreamingChatUser(ChatUser):
    weight = 3

    @task
    def chat_stream(self) -> None:
        ttft_ms: float | None = None
        tpot_ms: float | None = None
        started_at = time.perf_counter()
        with self.client.post(
            CHAT_PATH,
            json=chat_body(stream=True),
            name=STREAM_NAME,
            timeout=CONFIG.timeout_s,
            stream=True,
            catch_response=True,
        ) as response:
            problem = http_problem(response)
            if problem:
                response.failure(problem)
                return
            content_type = response.headers.get("content-type", "")
            if not content_type.startswith("text/event-stream"):
                response.failure(f"content-type is {content_type!r}, not text/event-stream")
                return
            try:
                result = read_stream(response)
            except requests.RequestException as exc:
                response.failure(f"stream broke: {exc!r}")
                return
            finally:
                response.close()
            ended_at = time.perf_counter()
            # The request entry measures the whole stream, not just the time to headers.
            response.request_meta["response_time"] = (ended_at - started_at) * 1000  # type: ignore[index]
            response.request_meta["response_length"] = result.bytes_read  # type: ignore[index]

            tokens = completion_tokens(result.usage)
            problem = result.problem
            if problem is None and not result.done:
                problem = "stream ended without data: [DONE]"
            if problem is None and result.usage is None:
                problem = "no usage chunk (stream_options.include_usage)"
            if problem is None and tokens is None:
                problem = "usage.completion_tokens missing"
            if problem is None and result.first_token_at is None:
                problem = "no chunk with content"
            if problem is not None:
                response.failure(problem)
                return
            response.success()
            assert result.first_token_at is not None and tokens is not None
            ttft_ms = (result.first_token_at - started_at) * 1000
            if tokens > 1:
                tpot_ms = (ended_at - result.first_token_at) * 1000 / (tokens - 1)

        if ttft_ms is not None:
            self._report(TTFT, ttft_ms)
        if tpot_ms is not None:
            self._report(TPOT, tpot_ms)

    def _report(self, metric: str, milliseconds: float) -> None:
        self.environment.events.request.fire(
            request_type=metric,
            name=STREAM_NAME,
            response_time=milliseconds,
            response_length=0,
            exception=None,
            context={},
        )


@dataclass(frozen=True)
class Verdict:
    passed: bool
    summary: str


def judge(environment: Environment) -> Verdict:
    """Compare the run's numbers with the thresholds."""
    stats = environment.stats
    http_entries = [e for e in stats.entries.values() if e.method not in METRIC_TYPES]
    total = sum(e.num_requests for e in http_entries)
    failures = sum(e.num_failures for e in http_entries)
    ratio = failures / total if total else 1.0
    ttft = stats.entries.get((STREAM_NAME, TTFT))
    ttft_p95 = ttft.get_response_time_percentile(0.95) if ttft and ttft.num_requests else None
    exceptions = len(environment.runner.exceptions) if environment.runner else 0

    reasons = []
    if total == 0:
        reasons.append("no requests were made")
    elif ratio > CONFIG.max_failure_ratio:
        reasons.append(f"failure ratio {ratio:.4f} > {CONFIG.max_failure_ratio:g}")
    if ttft_p95 is None:
        reasons.append("no TTFT samples (no successful stream)")
    elif ttft_p95 > CONFIG.max_ttft_p95_ms:
        reasons.append(f"TTFT p95 {ttft_p95} ms > {CONFIG.max_ttft_p95_ms:g} ms")
    if exceptions:
        reasons.append(f"{exceptions} exception(s) in the locustfile")

    numbers = (
        f"{total} requests, {failures} failed"
        f" (ratio {f'{ratio:.4f}' if total else 'n/a'}, max {CONFIG.max_failure_ratio:g})"
        f", TTFT p95 {'n/a' if ttft_p95 is None else f'{ttft_p95} ms'}"
        f" (max {CONFIG.max_ttft_p95_ms:g} ms)"
    )
    if reasons:
        return Verdict(False, f"loadtest FAIL: {'; '.join(reasons)} | {numbers}")
    return Verdict(True, f"loadtest PASS: {numbers}")


@events.quitting.add_listener
def apply_thresholds(environment: Environment, **_kwargs: Any) -> None:
    """Turn the thresholds into the exit code (workers leave it to the master's totals)."""
    if isinstance(environment.runner, WorkerRunner):
        return
    options = environment.parsed_options
    if options is not None and getattr(options, "csv_prefix", None):
        # locust rewrites the CSV files once a second: give its writer one more turn, so the
        # files hold the same final numbers as this verdict and the console summary.
        gevent.sleep(stats.CSV_STATS_INTERVAL_SEC + 0.2)
    verdict = judge(environment)
    print(verdict.summary, flush=True)
    environment.process_exit_code = 0 if verdict.passed else 1
