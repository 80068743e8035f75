"""What every helper that starts a process on loopback (gunicorn, Caddy, Redis) shares: a
free port, and waiting until the process serves, failing with its output if it exits first."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable

import httpx

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
