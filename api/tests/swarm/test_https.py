"""The Swarm stack from the outside: HTTPS through Caddy with its local CA trusted
(verification on), keys from a Docker secret, CORS, and /metrics kept off the public side."""

from __future__ import annotations

import pytest

from ..support.edge import check_cors
from ..support.sse import sse_payloads
from .conftest import STACK, Swarm, docker

pytestmark = pytest.mark.swarm

CHAT = {"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "Hello!"}]}


def test_the_default_stack_answers_over_https_with_the_real_model(swarm: Swarm) -> None:
    out = swarm.deploy()
    assert "access: keyed (1 API key(s) from API_KEYS_FILE)" in out
    assert "live check:            keyed" in out
    with swarm.client() as client:
        models = client.get("/v1/models").json()
        assert models["data"][0]["id"] == "smollm2-135m-instruct"
        r = client.post("/v1/chat/completions", json={**CHAT, "max_tokens": 8})
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"]


def test_chat_plain_and_streaming(mock_swarm: Swarm) -> None:
    with mock_swarm.client() as client:
        r = client.post("/v1/chat/completions", json={**CHAT, "max_tokens": 8})
        assert r.status_code == 200, r.text
        assert r.json()["object"] == "chat.completion"
        body = {**CHAT, "max_tokens": 8, "stream": True, "stream_options": {"include_usage": True}}
        with client.stream("POST", "/v1/chat/completions", json=body) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            text = stream.read().decode()
    payloads = sse_payloads(text)
    assert payloads[-1] == "[DONE]"
    assert payloads[-2]["usage"]["completion_tokens"] == 8
    assert "".join(
        c["choices"][0]["delta"].get("content") or "" for c in payloads[:-2] if c["choices"]
    )


def test_keys_come_from_a_secret_and_never_from_the_environment(mock_swarm: Swarm) -> None:
    with mock_swarm.client(key=None) as client:
        r = client.post("/v1/chat/completions", json=CHAT)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "invalid_api_key"
    with mock_swarm.client(key="sk-wrong") as client:
        assert client.post("/v1/chat/completions", json=CHAT).status_code == 401
    # What `docker inspect` shows of the service and its containers: the paths, not the keys.
    inspected = docker("service", "inspect", mock_swarm.service("api"))
    for container in mock_swarm.containers("api"):
        inspected += docker("inspect", container)
    assert "API_KEYS_FILE=/run/secrets/api_keys" in inspected
    assert "METRICS_TOKEN_FILE=/run/secrets/metrics_token" in inspected
    assert mock_swarm.key not in inspected
    assert mock_swarm.metrics_token not in inspected
    assert f"{STACK}_api_keys_" in inspected  # the secret, by its content-addressed name


def test_preflight_cors(mock_swarm: Swarm) -> None:
    with mock_swarm.client(key=None) as client:
        check_cors(client, "authorization,content-type")


def test_metrics_are_not_routed_through_the_proxy(mock_swarm: Swarm) -> None:
    with mock_swarm.client() as client:
        r = client.get("/metrics")
    assert r.status_code == 404
    assert "llm_gateway_" not in r.text


def test_a_refused_configuration_deploys_nothing(mock_swarm: Swarm) -> None:
    """Checked before anything changes, as `make up` does: the api's own reason for a bad
    setting, and a key file without a key (a Swarm stack is always keyed)."""
    spec_before = docker(
        "service", "inspect", mock_swarm.service("api"), "--format", "{{json .Spec}}"
    )
    empty = mock_swarm.workdir / "no_keys"
    empty.write_text("# no key here\n")
    for env, reason in (
        ({"MODEL_BACKEND": "nonsense"}, "MODEL_BACKEND"),
        ({"API_KEYS_FILE": str(empty)}, "holds no key"),
    ):
        with pytest.raises(RuntimeError) as refused:
            mock_swarm.make("swarm-up", SWARM_BUILD="0", **{**mock_swarm.deployed_settings, **env})
        assert "nothing deployed" in str(refused.value)
        assert reason in str(refused.value)
    spec_after = docker(
        "service", "inspect", mock_swarm.service("api"), "--format", "{{json .Spec}}"
    )
    assert spec_after == spec_before
