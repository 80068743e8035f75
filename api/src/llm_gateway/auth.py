"""API keys: loaded once from settings, compared in constant time, each with a name (what
metrics, logs and quotas say) and an optional quota.

One key per line of `API_KEYS_FILE` (or per comma-separated entry of `API_KEYS`):

    SECRET                          a key; its name is `key-` + 8 hex digits of its SHA-256
    sha256:HEX                      the same, given as the key's SHA-256 digest
    NAME:SECRET                     a named key (NAME: letters, digits, `_`, `.`, `-`)
    NAME:sha256:HEX                 a named key given as its digest
    NAME:SECRET:tpd=N:rpm=M         a named key with a quota: N tokens a day (UTC), M requests
                                    a minute (either may be left out)

Only the first `:` separates a name, so a key containing `:` must be given with a name. Keys
sharing a name share its counters and its quota (a key being rotated). Blank lines and `#`
comments are skipped. Only digests are kept; no secret reaches a log line or a metric.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path

HASH_PREFIX = "sha256:"
NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
QUOTA_FIELD = re.compile(r"(tpd|rpm)=([0-9]+)")


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


@dataclass(frozen=True, slots=True)
class Quota:
    """What a key name may use; None: no limit of that kind."""

    tokens_per_day: int | None = None
    requests_per_minute: int | None = None


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A configured key as the rest of the app sees it: never its secret."""

    name: str
    quota: Quota | None = None


def _parse_digest(text: str, where: str) -> bytes:
    try:
        digest = bytes.fromhex(text[len(HASH_PREFIX) :])
    except ValueError:
        digest = b""
    if len(digest) != 32:
        raise ValueError(f"{where}: not a sha256 hex digest")
    return digest


def parse_key(line: str, where: str) -> tuple[bytes, ApiKey]:
    """One key entry → (its digest, its name and quota). `where` names it in errors (never
    the line itself: it holds a secret)."""
    if line.startswith(HASH_PREFIX):
        digest = _parse_digest(line, where)
        return digest, ApiKey("key-" + digest.hex()[:8])
    name, colon, rest = line.partition(":")
    if not colon or not NAME.fullmatch(name):
        digest = _digest(line)
        return digest, ApiKey("key-" + digest.hex()[:8])
    parts = rest.split(":")
    fields: dict[str, int] = {}
    while parts and (found := QUOTA_FIELD.fullmatch(parts[-1])):
        if found[1] in fields:
            raise ValueError(f"{where}: {found[1]} given twice")
        fields[found[1]] = int(found[2])
        parts.pop()
    secret = ":".join(parts)
    if not secret:
        raise ValueError(f"{where}: the key named {name!r} has no secret")
    digest = _parse_digest(secret, where) if secret.startswith(HASH_PREFIX) else _digest(secret)
    quota = Quota(fields.get("tpd"), fields.get("rpm")) if fields else None
    return digest, ApiKey(name, quota)


class KeyRing:
    """Stores only SHA-256 digests, each with its key's name and quota."""

    def __init__(self, keys: list[str], key_file: str | None = None) -> None:
        entries: list[tuple[bytes, ApiKey]] = [
            parse_key(k, f"API_KEYS entry {n}") for n, k in enumerate(keys, 1) if k
        ]
        if key_file:
            for number, raw in enumerate(Path(key_file).read_text().splitlines(), 1):
                line = raw.strip()
                if line and not line.startswith("#"):
                    entries.append(parse_key(line, f"{key_file}:{number}"))
        self._entries = entries
        self.quotas: dict[str, Quota] = {}
        """Each key name's quota (names without one are left out)."""
        for _, key in entries:
            if key.quota is None:
                continue
            known = self.quotas.setdefault(key.name, key.quota)
            if known != key.quota:
                raise ValueError(f"the keys named {key.name!r} are given different quotas")
        # A key of a named quota listed elsewhere without one shares it all the same.
        self._entries = [
            (d, ApiKey(k.name, self.quotas.get(k.name)) if k.quota is None else k)
            for d, k in entries
        ]

    @property
    def enabled(self) -> bool:
        return bool(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def names(self) -> list[str]:
        """Every key name, once each (what per-key series are bounded by)."""
        return list(dict.fromkeys(k.name for _, k in self._entries))

    @staticmethod
    def owner(presented: str) -> str:
        """A stable, non-reversible name for a key: what stored state is scoped by."""
        return hashlib.sha256(presented.encode("utf-8")).hexdigest()[:32]

    def match(self, presented: str) -> ApiKey | None:
        """The presented key's entry. Every stored digest is compared, match or not, so
        timing reveals nothing."""
        candidate = _digest(presented)
        found: ApiKey | None = None
        for digest, key in self._entries:
            if hmac.compare_digest(candidate, digest):
                found = key
        return found

    def check(self, presented: str) -> bool:
        return self.match(presented) is not None


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token
