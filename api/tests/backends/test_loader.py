"""Backends are loaded by name or import path, each with its own settings class read from the
environment like the server's (a user's class declares its own the same way)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import Field

from llm_gateway.backends import (
    Backend,
    BackendSettings,
    Delta,
    GenerationRequest,
    SingleChoiceBackend,
)
from llm_gateway.backends.loader import backend_class, create_backend
from llm_gateway.backends.mock import MockBackend, MockSettings
from llm_gateway.env import SettingsError


class EchoSettings(BackendSettings):
    echo_times: int = Field(1, ge=1, le=10)


class Echo(SingleChoiceBackend[EchoSettings]):
    name = "echo"
    settings_class = EchoSettings

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        yield Delta(text="hi " * self.settings.echo_times, finish_reason="stop")


def test_a_user_class_gets_its_own_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ECHO_TIMES", "3")
    backend = create_backend(f"{__name__}:Echo")
    assert isinstance(backend, Echo)
    assert backend.settings == EchoSettings(echo_times=3)
    assert not hasattr(backend.settings, "api_keys")  # never the server's configuration


def test_built_in_backends_load_by_name_and_options_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCK_TTFT_MS", "5")
    backend = create_backend("mock", {"mock_max_tokens": 7})
    assert isinstance(backend, MockBackend)
    assert backend.settings == MockSettings(mock_ttft_ms=5, mock_max_tokens=7)


def test_bad_backend_settings_stop_start_up_with_one_line_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ECHO_TIMES", "99")
    monkeypatch.setenv("MOCK_TTFT_MS", "-1")
    with pytest.raises(SettingsError) as info:
        create_backend(f"{__name__}:Echo")
    assert "ECHO_TIMES: Input should be less than or equal to 10 (got '99')" in str(info.value)
    with pytest.raises(SettingsError) as info:
        create_backend("mock")
    assert "MOCK_TTFT_MS" in str(info.value)


def test_a_class_that_is_not_a_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="not a subclass"):
        create_backend(f"{__name__}:EchoSettings")
    with pytest.raises(ValueError, match="cannot import"):
        create_backend("no_such_module:Thing")


class OnlyStream(Backend):  # type: ignore[type-arg]
    """Writes `stream()` but subclasses `Backend`, not `SingleChoiceBackend`."""

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        yield Delta(text="x", finish_reason="stop")


def test_a_class_missing_the_entry_point_is_refused_saying_which_base_to_use() -> None:
    with pytest.raises(ValueError) as info:
        backend_class("tests.backends.test_loader:OnlyStream")
    message = str(info.value)
    assert "does not implement stream_choices" in message
    assert "SingleChoiceBackend" in message
