"""What the Docker tests (stack/, swarm/) ask before starting anything: their marker, and an
engine that answers, failing with what to do when there is none."""

from __future__ import annotations

import subprocess

import pytest

from .markers import require_marker


def require_docker(marker: str, make_target: str) -> None:
    """Fail the running test unless it is marked `marker` and a Docker engine answers."""
    require_marker(marker)
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        pytest.fail(f"no Docker engine answers: start one (see README) before `{make_target}`")
