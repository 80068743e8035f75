"""API keys: every route but the health checks needs one when keys are configured."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from llm_gateway import auth
from llm_gateway.auth import KeyRing
from llm_gateway.config import Settings

from .support.app import asgi_client, settings

KEYS = "sk-first,sk-second,sk-third"
CHAT = {"model": "mock-model", "messages": [{"role": "user", "content": "hi"}]}
ROUTES = [
    ("GET", "/v1/models", None),
    ("GET", "/v1/models/mock-model", None),
    ("POST", "/v1/chat/completions", CHAT),
    ("POST", "/v1/completions", {"model": "mock-model", "prompt": "x", "max_tokens": 2}),
    ("GET", "/v1/unknown-route", None),
]
BAD_AUTH = {
    "missing": {},
    "not bearer": {"Authorization": "Basic c2stZmlyc3Q6"},
    "empty bearer": {"Authorization": "Bearer "},
    "wrong key": {"Authorization": "Bearer sk-wrong"},
    "key prefix": {"Authorization": "Bearer sk-firs"},
}


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
@pytest.mark.parametrize("case", sorted(BAD_AUTH))
async def test_requests_without_a_valid_key_get_401(
    method: str, path: str, body: object, case: str
) -> None:
    async with asgi_client(settings(api_keys=KEYS)) as client:
        r = await client.request(method, path, json=body, headers=BAD_AUTH[case])
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    error = r.json()["error"]
    assert error["code"] == "invalid_api_key"
    assert error["type"] == "invalid_request_error"
    assert set(error) == {"message", "type", "param", "code"}


@pytest.mark.parametrize(("method", "path", "body"), ROUTES[:4])
@pytest.mark.parametrize("key", KEYS.split(","))
async def test_every_configured_key_works(method: str, path: str, body: object, key: str) -> None:
    async with asgi_client(settings(api_keys=KEYS)) as client:
        r = await client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {key}"}
        )
    assert r.status_code == 200


async def test_health_checks_need_no_key() -> None:
    async with asgi_client(settings(api_keys=KEYS)) as client:
        assert (await client.get("/health")).status_code == 200
        assert (await client.get("/ready")).status_code == 200


async def test_metrics_token_protects_metrics_separately() -> None:
    async with asgi_client(settings(api_keys=KEYS, metrics_token="scrape-me")) as client:
        assert (await client.get("/metrics")).status_code == 401
        api_key = {"Authorization": "Bearer sk-first"}
        assert (await client.get("/metrics", headers=api_key)).status_code == 401
        token = {"Authorization": "Bearer scrape-me"}
        assert (await client.get("/metrics", headers=token)).status_code == 200


def warnings_logged(stderr: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("level") == "warning"]


async def test_no_keys_means_open_and_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    async with asgi_client(settings(log_format="json")) as client:
        assert (await client.get("/v1/models")).status_code == 200
    assert "no_api_keys" in [w["event"] for w in warnings_logged(capsys.readouterr().err)]


async def test_configured_keys_mean_no_warning(capsys: pytest.CaptureFixture[str]) -> None:
    async with asgi_client(settings(api_keys=KEYS, log_format="json")):
        pass
    err = capsys.readouterr().err
    assert "model_loaded" in err  # the log was captured
    assert "no_api_keys" not in [w["event"] for w in warnings_logged(err)]


def test_key_file_takes_plain_keys_and_hashes(tmp_path: Path) -> None:
    digest = hashlib.sha256(b"sk-hashed").hexdigest()
    key_file = tmp_path / "keys"
    key_file.write_text(f"# comment\nsk-plain\n\nsha256:{digest}\n")
    ring = KeyRing([], str(key_file))
    assert len(ring) == 2
    assert ring.check("sk-plain")
    assert ring.check("sk-hashed")
    assert not ring.check(f"sha256:{digest}")
    assert not ring.check("sk-other")


def test_keys_carry_names_and_quotas(tmp_path: Path) -> None:
    digest = hashlib.sha256(b"sk-b").hexdigest()
    key_file = tmp_path / "keys"
    key_file.write_text(
        f"alice:sk-a:tpd=1000:rpm=5\nbob:sha256:{digest}\nsk-plain\ncarol:sk:with:colons\n"
        "alice:sk-a2\n"  # a second key of alice's (being rotated): her quota too
    )
    ring = KeyRing(["dave:sk-d:rpm=2"], str(key_file))
    assert ring.match("sk-a") == auth.ApiKey("alice", auth.Quota(1000, 5))
    assert ring.match("sk-a2") == auth.ApiKey("alice", auth.Quota(1000, 5))
    assert ring.match("sk-b") == auth.ApiKey("bob")
    assert ring.match("sk:with:colons") == auth.ApiKey("carol")
    assert ring.match("sk-d") == auth.ApiKey("dave", auth.Quota(None, 2))
    plain = ring.match("sk-plain")
    assert plain is not None and plain.name == "key-" + hashlib.sha256(b"sk-plain").hexdigest()[:8]
    assert ring.match("alice:sk-a") is None
    assert ring.quotas == {"alice": auth.Quota(1000, 5), "dave": auth.Quota(None, 2)}
    assert ring.names == ["dave", "alice", "bob", plain.name, "carol"]


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ("alice:", "has no secret"),
        ("alice:tpd=5", "has no secret"),
        ("alice:sk:tpd=1:tpd=2", "tpd given twice"),
        ("alice:sha256:abcd", "not a sha256 hex digest"),
    ],
)
def test_bad_key_lines_are_refused_without_showing_the_secret(line: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint) as refused:
        KeyRing([line])
    assert "sk" not in str(refused.value).replace("API_KEYS", "")


def test_one_name_cannot_have_two_quotas() -> None:
    with pytest.raises(ValueError, match="different quotas"):
        KeyRing(["a:sk-1:tpd=5", "a:sk-2:tpd=6"])


def test_comparison_does_not_stop_at_the_first_match(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = auth.hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", counting)
    ring = KeyRing(KEYS.split(","))
    for presented in ("sk-first", "sk-third", "nope"):
        calls.clear()
        ring.check(presented)
        assert len(calls) == 3, "every stored key is compared, whatever matches"


@pytest.mark.parametrize(
    ("site", "refused"),
    [
        ("localhost", False),
        ("127.0.0.1", False),
        ("api.localhost", False),
        ("10.1.2.3", False),
        ("gateway.internal", False),
        ("llm.example.com", True),
        ("https://llm.example.com:8443", True),
        ("8.8.8.8", True),
    ],
)
def test_a_public_site_without_keys_refuses_to_start(site: str, refused: bool) -> None:
    def build(**extra: object) -> Settings:
        return settings(site_address=site, **extra)

    if refused:
        with pytest.raises(ValueError, match="public domain"):
            build()
        assert build(allow_public_without_keys=True).site_address == site
        assert build(api_keys="sk-1").auth_enabled
    else:
        assert build().site_address == site


def test_keys_never_appear_in_settings_repr() -> None:
    assert "sk-first" not in repr(settings(api_keys=KEYS))


async def test_wrong_key_is_rejected_before_the_body_is_read() -> None:
    async with asgi_client(settings(api_keys=KEYS, max_body_bytes=2048)) as client:
        r = await client.post("/v1/chat/completions", content=b"x" * 4096)
    assert r.status_code == 401
