"""How every settings class is read: the environment first, then the `.env` file (ENV_FILE),
an empty value meaning "unset"; a bad value stops start-up with one readable line per problem.

The server's `Settings` and each backend's own settings class build on this, so a backend
reads its knobs exactly like the server does without seeing the server's configuration.
"""

from __future__ import annotations

import os
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class EnvSettings(BaseSettings):
    """Field names are the environment variable names (case-insensitive)."""

    model_config = SettingsConfigDict(
        env_file=os.environ.get("ENV_FILE", ".env"),
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        env_ignore_empty=True,
        protected_namespaces=(),
    )


def split_csv(value: object) -> object:
    """A comma list from the environment → its non-empty items; other values pass through."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def check_readable(path: str) -> str:
    """`path`, if this process can read it; else a ValueError that says why."""
    if not os.access(path, os.R_OK):
        why = "is not readable" if os.path.exists(path) else "does not exist"
        raise ValueError(f"{path} {why} (as user id {os.getuid()})")
    return path


class SettingsError(SystemExit):
    """Raised at start-up with a message an operator can act on."""


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def read_settings(cls: type[SettingsT], /, **overrides: Any) -> SettingsT:
    """Build `cls` from the environment (overrides win) or exit with one line per bad
    variable."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        lines = ["invalid configuration:"]
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]).upper() or "settings"
            lines.append(f"  {name}: {err['msg']} (got {err.get('input')!r})")
        raise SettingsError("\n".join(lines)) from None
