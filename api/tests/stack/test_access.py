"""Settings from the shell reach the api container: keys given by `API_KEYS=... make up` or by a
keys file lock the stack, and a public SITE_ADDRESS without keys stops `make up` before
anything starts."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from ..support.paths import REPO_ROOT
from .conftest import Stack

KEY = "sk-stack-test-key-7f3a"
CHAT = {"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}
PUBLIC_REFUSAL = "SITE_ADDRESS=api.example.com is a public domain"


def make_up(stack: Stack, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "up"],
        cwd=REPO_ROOT,
        env={**stack.env, **env},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def assert_keyed(stack: Stack, key: str) -> None:
    with stack.client() as client:
        for headers in ({}, {"Authorization": "Bearer sk-wrong"}):
            r = client.post("/v1/chat/completions", json=CHAT, headers=headers)
            assert r.status_code == 401, r.text
            assert r.json()["error"]["code"] == "invalid_api_key"
        r = client.post(
            "/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {key}"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["object"] == "chat.completion"


@pytest.fixture
def reopened(stack: Stack) -> Iterator[None]:
    """Back to the open default afterwards, for the other stack tests."""
    yield
    run = make_up(stack)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.usefixtures("reopened")
def test_keys_from_the_shell_lock_the_stack(stack: Stack) -> None:
    run = make_up(stack, API_KEYS=KEY)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "access: keyed (1 API key(s) from API_KEYS)" in out
    assert "live check:            keyed" in out
    assert_keyed(stack, KEY)


@pytest.mark.usefixtures("reopened")
def test_a_keys_file_locks_the_stack_and_stays_out_of_docker_inspect(stack: Stack) -> None:
    name = f"stack-test-keys-{os.getpid()}"
    key_file = REPO_ROOT / "secrets" / name
    key_file.parent.mkdir(exist_ok=True)
    key_file.write_text(f"# test key\n{KEY}\n")
    key_file.chmod(0o644)
    try:
        run = make_up(stack, API_KEYS_FILE=f"secrets/{name}")
        out = run.stdout + run.stderr
        assert run.returncode == 0, out
        assert "access: keyed (1 API key(s) from API_KEYS_FILE)" in out
        assert_keyed(stack, KEY)
        containers = stack.compose("ps", "-q", "api").split()
        inspect = subprocess.run(
            ["docker", "inspect", *containers], capture_output=True, text=True, check=True
        ).stdout
        assert f"API_KEYS_FILE=secrets/{name}" in inspect
        assert KEY not in inspect
    finally:
        key_file.unlink(missing_ok=True)


def test_a_public_site_without_keys_refuses_to_start(stack: Stack) -> None:
    run = make_up(stack, SITE_ADDRESS="api.example.com")
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert PUBLIC_REFUSAL in out
    assert "nothing started" in out
    # The api itself (its image's own command) refuses the same way, in one line.
    direct = subprocess.run(
        ["docker", "compose", "run", "--rm", "--no-deps", "-T", "api"],
        cwd=REPO_ROOT,
        env={**stack.env, "SITE_ADDRESS": "api.example.com"},
        capture_output=True,
        text=True,
        timeout=120,  # a server that did start would never return: the test fails
        check=False,
    )
    assert PUBLIC_REFUSAL in direct.stdout + direct.stderr
    # The running stack was left alone.
    with stack.client() as client:
        assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
