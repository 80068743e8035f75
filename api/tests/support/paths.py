"""Where things are: the repository, the venv's executables and the default model file, found
from this file so that tests run from any working directory."""

from __future__ import annotations

import sys
from pathlib import Path

from llm_gateway.assets import DEFAULT_MODEL

REPO_ROOT = Path(__file__).resolve().parents[3]
VENV_BIN = Path(sys.executable).parent
MODEL_FILE = REPO_ROOT / DEFAULT_MODEL.path
