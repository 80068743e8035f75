"""`python -m llm_gateway.preflight`: check the configuration exactly as the server will read
it, then say in one line whether clients need a key. Exits 2 with the server's own reasons
when it would refuse to start, so `make up` and `make serve` fail before starting anything.
"""

from __future__ import annotations

import sys

from .auth import KeyRing
from .backends.loader import backend_class
from .catalog import served_models
from .config import Settings, SettingsError, load_settings
from .env import read_settings


def access_line(settings: Settings, keys: KeyRing) -> str:
    if keys.enabled:
        source = "API_KEYS_FILE" if settings.api_keys_file else "API_KEYS"
        if settings.api_keys and settings.api_keys_file:
            source = "API_KEYS and API_KEYS_FILE"
        return f"access: keyed ({len(keys)} API key(s) from {source})"
    return (
        "access: OPEN - no API_KEYS or API_KEYS_FILE: anyone who can reach the server can use "
        "it (fine on localhost; set keys before exposing it)"
    )


def main() -> int:
    try:
        settings = load_settings()
        keys = KeyRing(settings.api_keys, settings.api_keys_file)
        # Every model's backend settings too (UPSTREAM_BASE_URL, N_CTX, ...), as the app reads
        # them: MODELS_FILE's entries, or the one MODEL_BACKEND.
        for spec in served_models(settings):
            read_settings(backend_class(spec.backend).settings_class, **spec.settings)
    except (SettingsError, ValueError, OSError) as exc:
        print(f"the api would refuse to start: {exc}", file=sys.stderr)
        return 2
    print(access_line(settings, keys))
    return 0


if __name__ == "__main__":
    sys.exit(main())
