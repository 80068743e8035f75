"""API keys: loaded once from settings, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

HASH_PREFIX = "sha256:"


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


class KeyRing:
    """Stores only SHA-256 digests. `API_KEYS_FILE` lines may be plain keys or
    `sha256:<hex digest>`; blank lines and `#` comments are skipped."""

    def __init__(self, keys: list[str], key_file: str | None = None) -> None:
        self._digests: list[bytes] = [_digest(k) for k in keys if k]
        if key_file:
            for number, raw in enumerate(Path(key_file).read_text().splitlines(), 1):
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                if line.startswith(HASH_PREFIX):
                    try:
                        digest = bytes.fromhex(line[len(HASH_PREFIX) :])
                    except ValueError:
                        digest = b""
                    if len(digest) != 32:
                        raise ValueError(f"{key_file}:{number}: not a sha256 hex digest")
                    self._digests.append(digest)
                else:
                    self._digests.append(_digest(line))

    @property
    def enabled(self) -> bool:
        return bool(self._digests)

    def __len__(self) -> int:
        return len(self._digests)

    @staticmethod
    def owner(presented: str) -> str:
        """A stable, non-reversible name for a key: what stored state is scoped by."""
        return hashlib.sha256(presented.encode("utf-8")).hexdigest()[:32]

    def check(self, presented: str) -> bool:
        """Compare against every stored digest, match or not, so timing reveals nothing."""
        candidate = _digest(presented)
        found = False
        for digest in self._digests:
            found |= hmac.compare_digest(candidate, digest)
        return found


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token
