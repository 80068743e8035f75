"""The fault matrix's start-up rows, on a real gunicorn server: a model file that is missing,
not a GGUF or corrupt, a KV cache that cannot fit N_PARALLEL x N_CTX, a response store whose
path cannot be created. Each is refused at start: the whole server exits (gunicorn's master
too, with the worker's boot-error code, so a container stops rather than serving /health
while never ready), with the reason in one log line. Nothing half-starts."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ..support.paths import REPO_ROOT, VENV_BIN
from ..support.processes import free_port

pytestmark = pytest.mark.server

WORKER_BOOT_ERROR = 3  # gunicorn's code: a worker that cannot boot stops the master


def refused(tmp_path: Path, **env: str) -> list[dict[str, Any]]:
    """Start the server like `make serve`; it must exit by itself, non-zero. Its log lines."""
    full_env = {
        **os.environ,
        "ENV_FILE": "/dev/null",
        "HOST": "127.0.0.1",
        "PORT": str(free_port()),
        "WORKERS": "1",
        "MODEL_BACKEND": "llama",
        "LOG_FORMAT": "json",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "RESPONSE_STORE": str(tmp_path / "store/responses.db"),
        **env,
    }
    done = subprocess.run(
        [str(VENV_BIN / "gunicorn"), "-c", "api/gunicorn.conf.py"],
        cwd=REPO_ROOT,
        env=full_env,
        capture_output=True,
        timeout=120,  # only so that nothing can hang a test run: it exits in seconds
    )
    output = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode == WORKER_BOOT_ERROR, output
    records = []
    for line in output.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def the_reason(records: list[dict[str, Any]]) -> str:
    """The one line that says why the model could not be loaded."""
    [line] = [r for r in records if r.get("event") == "model_load_failed"]
    assert "exception" not in line  # an operator's mistake: the reason, no traceback
    return str(line["reason"])


def test_a_missing_model_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.gguf"
    reason = the_reason(refused(tmp_path, MODEL_PATH=str(missing)))
    assert f"MODEL_PATH={missing} does not exist" in reason


def test_a_file_that_is_not_a_gguf(tmp_path: Path) -> None:
    other = tmp_path / "model.gguf"
    other.write_bytes(b"PK\x03\x04 a zip, not a model" * 100)
    reason = the_reason(refused(tmp_path, MODEL_PATH=str(other)))
    assert "is not a GGUF file" in reason


def test_a_corrupt_gguf(tmp_path: Path) -> None:
    corrupt = tmp_path / "model.gguf"
    corrupt.write_bytes(b"GGUF" + os.urandom(4096))
    reason = the_reason(refused(tmp_path, MODEL_PATH=str(corrupt)))
    assert "Failed to load model" in reason


@pytest.mark.model
def test_a_kv_cache_that_cannot_fit(tmp_path: Path, model_file: str) -> None:
    # 64 x 1,048,576 tokens of SmolLM2's 23,040 bytes each: about 1.4 TiB.
    records = refused(tmp_path, MODEL_PATH=model_file, N_PARALLEL="64", N_CTX="1048576")
    reason = the_reason(records)
    assert "N_PARALLEL=64 x N_CTX=1048576 tokens needs" in reason
    assert "lower N_PARALLEL or N_CTX" in reason


def test_a_response_store_whose_path_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    records = refused(tmp_path, MODEL_BACKEND="mock", RESPONSE_STORE=str(blocker / "r.db"))
    [line] = [r for r in records if "refused to start" in str(r.get("event"))]
    assert f"RESPONSE_STORE={blocker / 'r.db'}: the SQLite store cannot be created" in line["event"]
