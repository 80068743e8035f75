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
