from __future__ import annotations

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
    assert s.served_model_ids == ["smollm2-135m-instruct", "a", "b"]


def test_bad_values_exit_with_a_readable_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENV_FILE", "/dev/null")
    monkeypatch.setenv("PORT", "99999")
    monkeypatch.setenv("MODEL_BACKEND", "nonsense")
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None)
    message = str(info.value)
    assert "PORT" in message
    assert "MODEL_BACKEND" in message
