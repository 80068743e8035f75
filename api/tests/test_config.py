from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from llm_gateway.config import Settings, SettingsError, load_settings


def test_environment_overrides_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("MODEL_BACKEND=llama\nPORT=8001\nMODEL_ALIASES=a, b\n")
    monkeypatch.setenv("PORT", "9000")
    s = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert s.port == 9000
    assert s.model_backend == "llama"
    assert s.model_aliases == ["a", "b"]
    assert s.model_id == "smollm2-135m-instruct"


def test_bad_values_exit_with_a_readable_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENV_FILE", "/dev/null")
    monkeypatch.setenv("PORT", "99999")
    monkeypatch.setenv("MODEL_BACKEND", "nonsense")
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None)
    message = str(info.value)
    assert "PORT" in message
    assert "MODEL_BACKEND" in message


def test_key_files_must_be_readable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None, api_keys_file=str(tmp_path / "absent"))
    assert "API_KEYS_FILE" in str(info.value)
    assert "does not exist" in str(info.value)


def test_the_metrics_token_can_come_from_a_file(tmp_path: Path) -> None:
    token_file = tmp_path / "metrics_token"
    token_file.write_text("tok-from-file\n")
    s = load_settings(_env_file=None, metrics_token_file=str(token_file))
    assert s.metrics_token == "tok-from-file"
    assert "tok-from-file" not in repr(s)


def test_preflight_says_open_or_keyed_and_refuses_what_the_server_refuses(
    tmp_path: Path,
) -> None:
    def preflight(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "llm_gateway.preflight"],
            env={**os.environ, "ENV_FILE": "/dev/null", "MODEL_BACKEND": "mock", **env},
            capture_output=True,
            text=True,
            check=False,
        )

    open_run = preflight()
    assert open_run.returncode == 0
    assert open_run.stdout.startswith("access: OPEN")
    keys = tmp_path / "keys"
    keys.write_text("sk-one\n# a comment\nsk-two\n")
    keyed = preflight(API_KEYS_FILE=str(keys))
    assert keyed.returncode == 0
    assert keyed.stdout.startswith("access: keyed (2 API key(s) from API_KEYS_FILE)")
    public = preflight(SITE_ADDRESS="api.example.com")
    assert public.returncode == 2
    assert "SITE_ADDRESS=api.example.com is a public domain" in public.stderr


def test_a_key_file_without_a_key_is_refused(tmp_path: Path) -> None:
    """Otherwise the server would run open while its settings say it is keyed."""
    empty = tmp_path / "keys"
    empty.write_text("# no keys yet\n\n")
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None, api_keys_file=str(empty))
    assert "API_KEYS_FILE" in str(info.value) and "holds no key" in str(info.value)
