"""The benchmark's load generator: asyncio + aiohttp, run as its own process (in
.venv-bench) so that it never shares a CPU-bound interpreter with a server under test.

    python bench/loadgen.py '<json spec>'   → one JSON document on stdout

Specs (`kind`):
- `streams`: `concurrency` users start together; each sends `requests_per_user` streaming
  chat completions one after another (closed loop). Per request: TTFT, the gaps between
  content chunks (ITL), end-to-end latency, output tokens (from `usage`, else one per
  content chunk), and when its first token and its end came (relative to the start).
- `requests`: `concurrency` users send the same request (streaming or not) back to back for
  `duration` seconds; latency of each request, and SSE events received.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import resource
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from workload import stream_body

try:
    import uvloop
except ImportError:  # plain asyncio works, a little slower
    uvloop = None


async def sse_messages(
    response: aiohttp.ClientResponse,
) -> AsyncIterator[tuple[float, dict[str, Any]]]:
    """The JSON `data:` payloads of a server-sent event stream (not `[DONE]`), each with the
    time its event arrived."""
    buffer = b""
    async for data in response.content.iter_any():
        buffer += data
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            now = time.perf_counter()
            for line in event.split(b"\n"):
                payload = line[5:].strip() if line.startswith(b"data:") else b""
                if payload and payload != b"[DONE]":
                    yield now, json.loads(payload)


async def one_stream(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any], t0: float
) -> dict[str, Any]:
    start = time.perf_counter()
    chunks: list[float] = []
    usage_tokens = None
    error = None
    try:
        async with session.post(url, json=body) as response:
            if response.status != 200:
                error = f"HTTP {response.status}: {(await response.text())[:200]}"
            else:
                async for now, message in sse_messages(response):
                    if "error" in message:
                        error = str(message["error"])[:200]
                    if message.get("usage"):
                        usage_tokens = message["usage"].get("completion_tokens")
                    for choice in message.get("choices") or ():
                        delta = choice.get("delta") or {}
                        if delta.get("content"):
                            chunks.append(now)
    except (aiohttp.ClientError, TimeoutError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    end = time.perf_counter()
    if not chunks and error is None:
        error = "no content"
    tokens = usage_tokens if usage_tokens else len(chunks)
    return {
        "start": start - t0,
        "end": end - t0,
        "first": (chunks[0] - t0) if chunks else None,
        "ttft": (chunks[0] - start) if chunks else None,
        "e2e": end - start,
        "itl": [b - a for a, b in itertools.pairwise(chunks)],
        "tokens": tokens,
        "chunks": len(chunks),
        "error": error,
    }


async def streams(spec: dict[str, Any]) -> dict[str, Any]:
    url = spec["url"]
    concurrency = spec["concurrency"]
    per_user = spec["requests_per_user"]
    timeout = aiohttp.ClientTimeout(total=spec.get("timeout", 300))
    # A new connection per request, as independent clients would open: no server's
    # keep-alive quirks count, and gunicorn's workers each accept their share.
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        t0 = time.perf_counter()

        async def user(u: int) -> list[dict[str, Any]]:
            out = []
            for r in range(per_user):
                n = spec.get("offset", 0) + u + r * concurrency
                record = await one_stream(session, url, stream_body(spec, n), t0)
                record["user"], record["round"] = u, r
                out.append(record)
            return out

        results = await asyncio.gather(*(user(u) for u in range(concurrency)))
        wall = time.perf_counter() - t0
    return {"wall": wall, "requests": [r for rs in results for r in rs]}


async def requests(spec: dict[str, Any]) -> dict[str, Any]:
    url = spec["url"]
    body = json.dumps(spec["body"]).encode()
    headers = {"Content-Type": "application/json"}
    concurrency = spec["concurrency"]
    duration = spec["duration"]
    latencies: list[float] = []
    events = 0
    errors = 0
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        # Warm the connections up first (one request per user), then measure.
        async def once() -> tuple[float, int, bool]:
            start = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    data = await response.read()
                    ok = response.status == 200
            except (aiohttp.ClientError, TimeoutError):
                return time.perf_counter() - start, 0, False
            return time.perf_counter() - start, data.count(b"data: "), ok

        await asyncio.gather(*(once() for _ in range(concurrency)))
        t0 = time.perf_counter()
        deadline = t0 + duration

        async def user() -> None:
            nonlocal events, errors
            while time.perf_counter() < deadline:
                latency, n_events, ok = await once()
                latencies.append(latency)
                events += n_events
                errors += not ok

        await asyncio.gather(*(user() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    return {"wall": wall, "latencies": latencies, "events": events, "errors": errors}


def main() -> None:
    spec = json.loads(sys.argv[1])
    kinds = {"streams": streams, "requests": requests}
    run = asyncio.run if uvloop is None else uvloop.run
    result = run(kinds[spec["kind"]](spec))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # CPU seconds this process used: near the wall time means the load generator itself was
    # the bottleneck (the report shows it).
    result["cpu"] = usage.ru_utime + usage.ru_stime
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
