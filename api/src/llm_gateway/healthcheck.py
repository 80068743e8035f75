"""Container healthcheck without curl: `python -m llm_gateway.healthcheck` exits 0 when the
local server reports ready."""

from __future__ import annotations

import os
import sys
import urllib.request


def main() -> int:
    port = os.environ.get("PORT", "8001")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=3) as r:
            return 0 if r.status == 200 else 1
    except OSError as exc:
        print(f"not ready: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
