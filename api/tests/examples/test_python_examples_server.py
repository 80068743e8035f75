"""examples/python run as a user runs them (`python examples/python/X.py`), against real
gunicorn servers (and the real Caddy for the certificate case): the openai SDK's examples,
and the anthropic SDK's against the Messages API."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from ..support.caddy import CaddyProcess, running_caddy
from ..support.paths import REPO_ROOT
from ..support.processes import free_port
from ..support.server import ServerProcess
from .conftest import API_KEY, client_env

EXAMPLES = REPO_ROOT / "examples/python"


def run_example(script: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    own = ("OPENAI_", "ANTHROPIC_", "SSL_CERT")  # the developer's own settings stay out
    clean = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def proxy(keyed_mock: ServerProcess) -> Iterator[CaddyProcess]:
    with running_caddy(keyed_mock) as caddy:
        yield caddy


def test_smoke_prints_the_models_and_an_answer(keyed_mock: ServerProcess) -> None:
    run = run_example("smoke.py", f"{keyed_mock.base_url}/v1", env={"OPENAI_API_KEY": API_KEY})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "models: mock-model, gpt-3.5-turbo" in run.stdout
    assert run.stdout.rstrip().endswith("OK")


def test_smoke_takes_the_base_url_from_the_environment(keyed_mock: ServerProcess) -> None:
    run = run_example("smoke.py", env=client_env(keyed_mock))
    assert run.returncode == 0, run.stdout + run.stderr


def test_smoke_explains_a_refused_connection() -> None:
    port = free_port()  # nothing listens there
    run = run_example("smoke.py", f"http://localhost:{port}", env={})
    assert run.returncode == 1
    assert "still starting" in run.stderr
    assert f"port {port}: Connection refused" in run.stderr
    assert "127.0.0.1" in run.stderr


def test_smoke_explains_a_missing_key(keyed_mock: ServerProcess) -> None:
    run = run_example("smoke.py", keyed_mock.base_url, env={})
    assert run.returncode == 1
    assert "AuthenticationError" in run.stderr
    assert "OPENAI_API_KEY" in run.stderr


def test_smoke_through_the_proxy_needs_its_ca(proxy: CaddyProcess) -> None:
    untrusted = run_example("smoke.py", proxy.base_url, env={"OPENAI_API_KEY": API_KEY})
    assert untrusted.returncode == 1
    assert "SSL_CERT_FILE=root.crt" in untrusted.stderr
    trusted = run_example(
        "smoke.py",
        proxy.base_url,
        env={"OPENAI_API_KEY": API_KEY, "SSL_CERT_FILE": str(proxy.ca_cert)},
    )
    assert trusted.returncode == 0, trusted.stdout + trusted.stderr


def test_chat_plain_and_streamed(keyed_mock: ServerProcess) -> None:
    run = run_example("chat.py", "Hello", env=client_env(keyed_mock))
    assert run.returncode == 0, run.stderr
    first, streamed = run.stdout.split("\n\n", 1)
    # Same request, same text, streamed or not (the mock is deterministic).
    assert first.split(": ", 1)[1] == streamed.splitlines()[0]
    assert "completion tokens)" in streamed


@pytest.mark.model
def test_tools_with_the_default_model(keyed_llama: ServerProcess) -> None:
    run = run_example("tools.py", "What is the weather in Oslo?", env=client_env(keyed_llama))
    assert run.returncode == 0, run.stderr
    call = run.stdout.splitlines()[0]
    assert call.startswith("tool call: get_weather(")
    arguments = json.loads(call.removeprefix("tool call: get_weather(").removesuffix(")"))
    assert set(arguments) == {"city", "unit"}
    assert len(run.stdout.splitlines()) >= 2  # the answer after the tool result


@pytest.mark.model
def test_json_mode_with_the_default_model(keyed_llama: ServerProcess) -> None:
    run = run_example("json_mode.py", env=client_env(keyed_llama))
    assert run.returncode == 0, run.stderr
    lines = dict(line.split(": ", 1) for line in run.stdout.splitlines())
    assert set(lines) == {"json_object", "json_schema"}


def test_anthropic_chat_plain_streamed_and_counted(keyed_mock: ServerProcess) -> None:
    run = run_example("anthropic_chat.py", "Hello", env=client_env(keyed_mock))
    assert run.returncode == 0, run.stderr
    first, streamed = run.stdout.split("\n\n", 1)
    model, text = first.split(": ", 1)
    assert model == "gpt-3.5-turbo"
    # Same request, same text, streamed or not (the mock is deterministic).
    lines = streamed.splitlines()
    assert lines[0] == text
    usage = re.fullmatch(r"\((\d+) input \+ (\d+) output tokens, end_turn\)", lines[1])
    assert usage, lines[1]
    assert lines[2] == f"count_tokens: {usage[1]}"  # what the model read, counted alike


def test_anthropic_chat_refused_without_the_key(keyed_mock: ServerProcess) -> None:
    env = {**client_env(keyed_mock), "ANTHROPIC_API_KEY": "not-the-key"}
    run = run_example("anthropic_chat.py", env=env)
    assert run.returncode == 1
    assert "anthropic.AuthenticationError" in run.stderr
    assert "authentication_error" in run.stderr


@pytest.mark.model
def test_anthropic_tool_round_trip_with_the_default_model(keyed_llama: ServerProcess) -> None:
    run = run_example("anthropic_tools.py", "Weather in Oslo?", env=client_env(keyed_llama))
    assert run.returncode == 0, run.stderr
    call, answer = run.stdout.split("\n", 1)
    found = re.fullmatch(r"tool call: get_weather\((.*)\) \[tool_use\]", call)
    assert found, call
    arguments = json.loads(found[1])
    assert set(arguments) == {"city", "unit"}
    assert arguments["unit"] in {"celsius", "fahrenheit"}
    assert answer.strip()  # the model's answer once it had the tool's result
