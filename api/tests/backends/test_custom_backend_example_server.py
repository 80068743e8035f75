"""examples/custom_backend.py under gunicorn, started exactly as its docstring says: nothing
but MODEL_BACKEND=examples.custom_backend:PassageAnswerer from the repository root (gunicorn
puts its working directory on the import path) and the backend's own settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..support import sdk_checks
from ..support.server import running_server
from ..support.spec import SpecValidator
from .test_custom_backend_example import BACKEND, write_documents

pytestmark = pytest.mark.server


def test_the_example_passes_the_checks_every_backend_passes(
    tmp_path: Path, spec: SpecValidator
) -> None:
    folder = write_documents(tmp_path)
    with running_server(MODEL_BACKEND=BACKEND, PASSAGES_DIR=str(folder)) as server:
        client = sdk_checks.sdk(server.base_url)
        sdk_checks.assert_every_shape(client, spec, "mock-model")
        answer = sdk_checks.chat(
            client,
            spec,
            model="gpt-3.5-turbo",
            messages=[{"role": "user", "content": "What pressure for road bicycle tyres?"}],
        )
    assert answer["choices"][0]["message"]["content"].startswith("Tyre pressure")
    assert "[bikes.md]" in answer["choices"][0]["message"]["content"]
