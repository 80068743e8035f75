"""A test server's settings by what they mean, for `running_server(**...)` and
`server_fixture({...})`: how fast the mock answers, and how many requests it takes at once.
Each returns the environment variables the api reads (strings, as a shell would pass them)."""

from __future__ import annotations


def mock_pace(token_ms: float, max_tokens: int, *, ttft_ms: float | None = None) -> dict[str, str]:
    """The mock's answers: `max_tokens` tokens (unless a request asks for fewer), `token_ms`
    apart, the first after `ttft_ms`."""
    env = {"MOCK_TOKEN_MS": f"{token_ms:g}", "MOCK_MAX_TOKENS": str(max_tokens)}
    if ttft_ms is not None:
        env["MOCK_TTFT_MS"] = f"{ttft_ms:g}"
    return env


def admission(
    running: int, *, waiting: int | None = None, queue_timeout: float | None = None
) -> dict[str, str]:
    """`running` generations at once per worker, then a queue of `waiting` that a request
    leaves with a 429 after `queue_timeout` seconds (the api's defaults where not given)."""
    env = {"MAX_CONCURRENT": str(running)}
    if waiting is not None:
        env["MAX_QUEUE"] = str(waiting)
    if queue_timeout is not None:
        env["QUEUE_TIMEOUT"] = f"{queue_timeout:g}"
    return env
