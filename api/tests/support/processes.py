"""What every helper that starts a process on loopback (gunicorn, Caddy, Redis) shares: a
free port, and waiting until the process serves, failing with its output if it exits first."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Callable

import httpx
import pytest

from .polling import poll_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_serving(
    proc: subprocess.Popen[bytes],
    serving: Callable[[], bool],
    timeout: float,
    what: str,
    logs: Callable[[], str],
) -> None:
    """Poll `serving()` (an HTTP probe: its errors mean "not yet") until it holds; fail with
    the process's output (`logs()`) when it does not in time or when the process exits
    first."""

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"the process exited early ({what} never came):\n{logs()}")
        return serving()

    try:
        poll_until(ready, timeout, 0.1, what=what, retry_on=(httpx.HTTPError,))
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{logs()}") from None


def require_binary(name: str, package: str, required_by: str) -> str:
    """The path of `name`; without it the test is skipped, saying which Debian package brings
    it — or fails when the environment variable `required_by` is 1 (CI sets it)."""
    binary = shutil.which(name)
    if binary is None:
        reason = f"{name} is not installed (Debian: apt-get install {package})"
        if os.environ.get(required_by) == "1":
            pytest.fail(f"{reason}; {required_by}=1 makes it required", pytrace=False)
        pytest.skip(reason)
    return binary
