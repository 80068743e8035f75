"""UPSTREAM_* settings: read like every backend's, refused at start-up with a reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from llm_gateway.backends.loader import create_backend
from llm_gateway.backends.openai import OpenAIBackend, UpstreamSettings
from llm_gateway.env import SettingsError


def test_the_openai_backend_loads_by_name_with_its_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UPSTREAM_BASE_URL", " http://a:8000/v1/ , https://b.example/openai/v1")
    monkeypatch.setenv("UPSTREAM_READ_TIMEOUT", "12.5")
    monkeypatch.setenv("UPSTREAM_FORWARD_N", "false")
    backend = create_backend("openai")
    assert isinstance(backend, OpenAIBackend)
    s = backend.settings
    assert s.upstream_base_url == ["http://a:8000/v1", "https://b.example/openai/v1"]
    assert (s.upstream_read_timeout, s.upstream_forward_n) == (12.5, False)
    assert s.upstream_api_key is None and s.upstream_model is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "UPSTREAM_BASE_URL"),
        ("http://localhost:11434", "needs its API path, e.g. http://localhost:11434/v1"),
        ("localhost:8000/v1", "is not an http(s) URL"),
        ("http://a/v1,http://a/v1/", "listed twice"),
    ],
)
def test_a_bad_base_url_stops_start_up_saying_why(
    monkeypatch: pytest.MonkeyPatch, url: str, reason: str
) -> None:
    monkeypatch.setenv("UPSTREAM_BASE_URL", url)
    with pytest.raises(SettingsError) as info:
        create_backend("openai")
    assert "UPSTREAM_BASE_URL" in str(info.value)
    assert reason in str(info.value)


def test_the_key_can_come_from_a_file_and_never_shows(tmp_path: Path) -> None:
    key_file = tmp_path / "upstream_api_key"
    key_file.write_text("sk-from-file\n")
    s = UpstreamSettings(upstream_base_url="http://a/v1", upstream_api_key_file=str(key_file))  # type: ignore[arg-type]
    assert s.upstream_api_key is not None
    assert s.upstream_api_key.get_secret_value() == "sk-from-file"
    assert "sk-from-file" not in repr(s)
    with pytest.raises(ValueError, match="does not exist"):
        UpstreamSettings(
            upstream_base_url="http://a/v1", upstream_api_key_file=str(tmp_path / "no")
        )  # type: ignore[arg-type]


def test_preflight_refuses_what_the_backend_would_refuse() -> None:
    """`make up` and `make serve` stop before starting anything, with the backend's reason."""

    def preflight(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "llm_gateway.preflight"],
            env={**os.environ, "ENV_FILE": "/dev/null", "MODEL_BACKEND": "openai", **env},
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    missing = preflight(UPSTREAM_BASE_URL="")
    assert missing.returncode == 2
    assert "UPSTREAM_BASE_URL: Field required" in missing.stderr
    assert preflight(UPSTREAM_BASE_URL="http://localhost:11434/v1").returncode == 0
