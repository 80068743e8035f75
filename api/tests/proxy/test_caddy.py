"""proxy/Caddyfile in front of a real gunicorn, without Docker: TLS from Caddy's local CA
(verification on), streaming, CORS, and what the public side must not expose."""

from __future__ import annotations

import httpx
import openai

from ..support.caddy import CaddyProcess
from ..support.edge import (
    ALLOWED_ORIGIN,
    OTHER_ORIGIN,
    assert_preflight_allowed,
    assert_preflight_refused,
)
from ..support.scrape import scrape, total
from ..support.server import ServerProcess
from ..support.spec import SpecValidator
from ..support.sse import carries_content, read_unbuffered

BODY = {"model": "mock-model", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 30}


def test_openai_sdk_through_the_proxy(proxy: CaddyProcess, spec: SpecValidator) -> None:
    sdk = openai.OpenAI(
        base_url=proxy.base_url + "/v1",
        api_key="unused",
        http_client=httpx.Client(verify=proxy.tls),
        max_retries=0,
    )
    completion = sdk.chat.completions.create(
        model="gpt-3.5-turbo",
        messages=BODY["messages"],  # type: ignore[arg-type]
        max_tokens=BODY["max_tokens"],  # type: ignore[arg-type]
    )
    spec.validate("CreateChatCompletionResponse", completion.model_dump(exclude_unset=True))
    assert completion.choices[0].message.content
    text = ""
    for chunk in sdk.chat.completions.create(
        model="gpt-3.5-turbo",
        messages=BODY["messages"],  # type: ignore[arg-type]
        max_tokens=BODY["max_tokens"],  # type: ignore[arg-type]
        stream=True,
    ):
        text += "".join(c.delta.content or "" for c in chunk.choices)
    assert text == completion.choices[0].message.content


def test_sse_arrives_token_by_token(proxy: CaddyProcess, slow_api: ServerProcess) -> None:
    def generating() -> bool:
        return total(scrape(slow_api.base_url), "llm_gateway_num_requests_running") == 1

    # 100 tokens 40 ms apart: text must reach the client, read after read, while the api is
    # still generating (asked of the api itself), long before the stream could have ended.
    body = {**BODY, "max_tokens": 100, "stream": True}
    with (
        proxy.client(timeout=30) as client,
        client.stream("POST", "/v1/chat/completions", json=body) as r,
    ):
        assert r.status_code == 200
        assert "content-encoding" not in r.headers
        payloads = read_unbuffered(r, generating, reads=5)
    assert payloads[-1] == "[DONE]"
    assert sum(carries_content(p) for p in payloads) > 10


def test_cors_preflight_for_an_allowed_origin(proxy: CaddyProcess) -> None:
    with proxy.client() as client:
        r = assert_preflight_allowed(client, "authorization, content-type, x-stainless-os")
    assert "POST" in r.headers["access-control-allow-methods"]


def test_cors_refuses_other_origins(proxy: CaddyProcess) -> None:
    with proxy.client() as client:
        assert_preflight_refused(client)
        simple = client.post("/v1/chat/completions", json=BODY, headers={"Origin": OTHER_ORIGIN})
    assert "access-control-allow-origin" not in simple.headers
    assert simple.status_code == 200


def test_exactly_one_allow_origin_header(proxy: CaddyProcess) -> None:
    with proxy.client() as client:
        for r in (
            client.post("/v1/chat/completions", json=BODY, headers={"Origin": ALLOWED_ORIGIN}),
            client.post(
                "/v1/chat/completions",
                json={**BODY, "stream": True},
                headers={"Origin": ALLOWED_ORIGIN},
            ),
            client.get("/v1/models/nope", headers={"Origin": ALLOWED_ORIGIN}),
        ):
            assert r.headers.get_list("access-control-allow-origin") == [ALLOWED_ORIGIN]


def test_metrics_are_not_public(proxy: CaddyProcess, slow_api: ServerProcess) -> None:
    with proxy.client() as client:
        for path in ("/metrics", "/metrics/", "/metrics/x"):
            r = client.get(path)
            assert r.status_code == 404
            assert r.json()["error"]["code"] == "not_found"


def test_security_headers_and_no_server_banner(proxy: CaddyProcess) -> None:
    with proxy.client() as client:
        r = client.get("/v1/models")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["strict-transport-security"].startswith("max-age=")
    assert "server" not in r.headers


def test_plain_http_redirects_to_https(proxy: CaddyProcess) -> None:
    r = httpx.get(f"http://localhost:{proxy.http_port}/v1/models", follow_redirects=False)
    assert r.status_code in (301, 302, 307, 308)
    assert r.headers["location"].startswith("https://")


def test_oversized_bodies_get_an_openai_error(proxy: CaddyProcess) -> None:
    with proxy.client() as client:
        r = client.post(
            "/v1/chat/completions",
            content=b'{"pad": "' + b"x" * 3_000_000 + b'"}',
            headers={"content-type": "application/json"},
        )
    assert r.status_code == 413
    assert r.json()["error"]["type"] == "invalid_request_error"
