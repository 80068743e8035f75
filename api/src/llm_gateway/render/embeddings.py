"""The `/v1/embeddings` body: vectors as floats, or as base64 of little-endian float32 (what
OpenAI's SDKs ask for by default)."""

from __future__ import annotations

import base64
import sys
from array import array
from typing import Any

from ..backends import Embeddings


def _base64(vector: list[float]) -> str:
    packed = array("f", vector)
    if sys.byteorder != "little":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def embeddings_body(model: str, result: Embeddings, encoding_format: str) -> dict[str, Any]:
    encode = _base64 if encoding_format == "base64" else list
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": encode(vector)}
            for i, vector in enumerate(result.vectors)
        ],
        "model": model,
        "usage": {"prompt_tokens": result.prompt_tokens, "total_tokens": result.prompt_tokens},
    }
