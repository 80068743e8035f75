"""The conversations client: multi-turn chats against one server, run as its own process (in
.venv-bench) like loadgen.py.

    python bench/conversations.py '<json spec>'   → one JSON document on stdout

`conversations` conversations start together; each sends `turns` streaming turns, closed loop
(the next turn leaves when the previous answer has ended). Turn 1 is the system prompt and a
distinct ~500-token text (workload.conversation_opening); every later turn adds the answer and
a short distinct question. Two request shapes (`shape`):

- `chat`: `/v1/chat/completions` with the whole history every turn, as chat clients send it;
- `responses`: `/v1/responses` with `store` on and `previous_response_id`, the question as the
  only input (the server keeps the history; `instructions` again each turn, as they are not
  carried over).

Per turn: TTFT (request sent → first text delta), latency (→ last byte), prompt and output
tokens from the usage the server reports, and the cached / evaluated prompt tokens when the
server reports them (`prompt_tokens_details.cached_tokens`, llama-server's `timings`).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from loadgen import sse_messages
from workload import CONVERSATION_SYSTEM, conversation_opening, follow_up

try:
    import uvloop
except ImportError:  # plain asyncio works, a little slower
    uvloop = None


@dataclass
class Turn:
    """What one turn's stream brought back."""

    text: list[str] = field(default_factory=list)
    first: float | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)
    response_id: str | None = None
    error: str | None = None


def chat_body(spec: dict[str, Any], messages: list[dict[str, str]]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": spec["model"],
        "messages": messages,
        "max_tokens": spec["max_tokens"],
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if spec.get("ban_tokens"):
        # Every answer is max_tokens long: end-of-generation tokens are banned.
        body["logit_bias"] = {str(t): -100 for t in spec["ban_tokens"]}
    return body


def responses_body(spec: dict[str, Any], text: str, previous: str | None) -> dict[str, Any]:
    """The Responses API has no `logit_bias`: an answer may end before max_output_tokens."""
    body: dict[str, Any] = {
        "model": spec["model"],
        "instructions": CONVERSATION_SYSTEM,
        "input": text,
        "max_output_tokens": spec["max_tokens"],
        "temperature": 0,
        "store": True,
        "stream": True,
    }
    if previous is not None:
        body["previous_response_id"] = previous
    return body


def on_chat_event(turn: Turn, message: dict[str, Any], now: float) -> None:
    if "error" in message:
        turn.error = str(message["error"])[:200]
    if message.get("usage"):
        turn.usage = message["usage"]
    if message.get("timings"):  # llama-server: prompt_n evaluated, cache_n reused
        turn.timings = message["timings"]
    for choice in message.get("choices") or ():
        content = (choice.get("delta") or {}).get("content")
        if content:
            turn.first = now if turn.first is None else turn.first
            turn.text.append(content)


def on_responses_event(turn: Turn, message: dict[str, Any], now: float) -> None:
    kind = message.get("type", "")
    if kind == "response.created":
        turn.response_id = message["response"]["id"]
    elif kind == "response.output_text.delta" and message.get("delta"):
        turn.first = now if turn.first is None else turn.first
        turn.text.append(message["delta"])
    elif kind in ("response.completed", "response.incomplete"):
        usage = message["response"].get("usage") or {}
        turn.usage = {
            "prompt_tokens": usage.get("input_tokens"),
            "completion_tokens": usage.get("output_tokens"),
            "prompt_tokens_details": usage.get("input_tokens_details"),
        }
    elif kind == "response.failed":
        turn.error = str(message["response"].get("error"))[:200]
    elif kind == "error":
        turn.error = str(message)[:200]


async def send(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any], shape: str
) -> tuple[Turn, float, float]:
    """One streaming turn: what came back, and when it started and ended."""
    on_event = on_chat_event if shape == "chat" else on_responses_event
    turn = Turn()
    start = time.perf_counter()
    try:
        async with session.post(url, json=body) as response:
            if response.status != 200:
                turn.error = f"HTTP {response.status}: {(await response.text())[:200]}"
            else:
                async for now, message in sse_messages(response):
                    on_event(turn, message, now)
    except (aiohttp.ClientError, TimeoutError) as exc:
        turn.error = f"{type(exc).__name__}: {exc}"
    end = time.perf_counter()
    if turn.error is None and turn.first is None:
        turn.error = "no content"
    if turn.error is None and shape == "responses" and turn.response_id is None:
        turn.error = "no response id"
    return turn, start, end


def record(turn: Turn, start: float, end: float, t0: float) -> dict[str, Any]:
    usage = turn.usage
    details = usage.get("prompt_tokens_details") or {}
    return {
        "start": start - t0,
        "end": end - t0,
        "ttft": None if turn.first is None else turn.first - start,
        "latency": end - start,
        "prompt_tokens": usage.get("prompt_tokens"),
        "output_tokens": usage.get("completion_tokens"),
        "cached_tokens": details.get("cached_tokens"),
        "evaluated_tokens": turn.timings.get("prompt_n"),
        "reused_tokens": turn.timings.get("cache_n"),
        "error": turn.error,
    }


async def conversation(
    session: aiohttp.ClientSession, spec: dict[str, Any], n: int, t0: float
) -> list[dict[str, Any]]:
    """Conversation `n`, turn after turn; it stops at its first failed turn."""
    shape = spec["shape"]
    path = "/v1/chat/completions" if shape == "chat" else "/v1/responses"
    url = spec["url"] + path
    messages = [{"role": "system", "content": CONVERSATION_SYSTEM}]
    previous: str | None = None
    out: list[dict[str, Any]] = []
    for t in range(1, spec["turns"] + 1):
        text = conversation_opening(n) if t == 1 else follow_up(n, t)
        messages.append({"role": "user", "content": text})
        body = (
            chat_body(spec, messages) if shape == "chat" else responses_body(spec, text, previous)
        )
        turn, start, end = await send(session, url, body, shape)
        out.append({"conversation": n, "turn": t, **record(turn, start, end, t0)})
        if turn.error is not None:
            break
        messages.append({"role": "assistant", "content": "".join(turn.text)})
        previous = turn.response_id
    return out


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    timeout = aiohttp.ClientTimeout(total=spec.get("timeout", 300))
    # A new connection per request, as in loadgen.py: independent clients.
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    first = spec["first"]
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        t0 = time.perf_counter()
        done = await asyncio.gather(
            *(
                conversation(session, spec, n, t0)
                for n in range(first, first + spec["conversations"])
            )
        )
        wall = time.perf_counter() - t0
    return {"wall": wall, "turns": [t for turns in done for t in turns]}


def main() -> None:
    spec = json.loads(sys.argv[1])
    result = (asyncio.run if uvloop is None else uvloop.run)(run(spec))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu"] = usage.ru_utime + usage.ru_stime
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
