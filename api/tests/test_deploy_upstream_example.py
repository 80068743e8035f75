"""deploy/upstream.example.yml: the api in front of another OpenAI-compatible server, with the
shell and `.env` still winning over its defaults."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
import yaml

from .support.paths import REPO_ROOT
from .test_settings_reach_containers import api_setting_names, rendered

EXAMPLE = REPO_ROOT / "deploy" / "upstream.example.yml"


def test_the_example_sets_only_real_settings_and_reaches_the_host() -> None:
    api = yaml.safe_load(EXAMPLE.read_text())["services"]["api"]
    names = {str(entry).partition("=")[0] for entry in api["environment"]}
    assert names <= api_setting_names(), names - api_setting_names()
    assert "host.docker.internal:host-gateway" in api["extra_hosts"]


def _api_environment(env: dict[str, str]) -> dict[str, Any]:
    files = ["-f", "docker-compose.yml", "-f", str(EXAMPLE)]
    document = rendered(["docker", "compose", *files, "config", "--format", "json"], env)
    environment: dict[str, Any] = document["services"]["api"]["environment"]
    return environment


def test_compose_takes_the_example_with_the_shell_winning() -> None:
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI: the file itself was checked above")
    plain = _api_environment({})
    assert plain["MODEL_BACKEND"] == "openai"
    assert plain["UPSTREAM_BASE_URL"] == "http://host.docker.internal:11434/v1"
    assert plain["UPSTREAM_MODEL"] == "llama3.2"
    chosen = _api_environment(
        {"UPSTREAM_BASE_URL": "http://10.0.0.7:8000/v1", "UPSTREAM_MODEL": "qwen"}
    )
    assert (chosen["UPSTREAM_BASE_URL"], chosen["UPSTREAM_MODEL"]) == (
        "http://10.0.0.7:8000/v1",
        "qwen",
    )
