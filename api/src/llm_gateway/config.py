"""The server's settings, read from the environment and `.env`, validated at start-up.

Environment variables win over `.env`, so `MODEL_BACKEND=mock PORT=9000 make serve` works, and
an empty value counts as unset (the committed `.env` leaves secrets empty). Each backend reads
its own knobs (N_CTX, MOCK_TTFT_MS, ...) with its own settings class (`backends/`).
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode

from .assets import CL100K_BASE
from .client_address import parse_networks
from .env import EnvSettings, SettingsError, check_readable, read_settings, split_csv

__all__ = ["Settings", "SettingsError", "is_public_site", "load_settings"]


class Settings(EnvSettings):
    """Every knob of the server. Names match the environment variables."""

    # --- models -------------------------------------------------------------------------
    model_backend: str = Field(
        "llama",
        description="mock | llama | openai | package.module:ClassName (your own Backend subclass)",
    )
    model_id: str = Field("smollm2-135m-instruct", min_length=1, max_length=256)
    model_aliases: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["gpt-3.5-turbo", "gpt-4o-mini"]
    )
    model_owned_by: str = "llm-gateway"
    models_file: str | None = Field(
        None, description="YAML listing several served models (then MODEL_* are unused)"
    )
    default_model: str | None = Field(
        None,
        max_length=256,
        description="the served id that answers model ids this server does not serve",
    )

    # --- server -------------------------------------------------------------------------
    host: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["127.0.0.1", "::1"])
    port: int = Field(8001, ge=1, le=65_535)
    workers: int = Field(1, ge=1, le=64)
    timeout_graceful_shutdown: int = Field(30, ge=1, le=3600)
    keepalive: int = Field(75, ge=1, le=3600)

    # --- access -------------------------------------------------------------------------
    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list, repr=False)
    api_keys_file: str | None = None
    metrics_token: str | None = Field(None, repr=False)
    metrics_token_file: str | None = None
    site_address: str = "localhost"
    allow_public_without_keys: bool = False

    # --- limits -------------------------------------------------------------------------
    max_body_bytes: int = Field(1_048_576, ge=1024, le=1_073_741_824)
    max_n: int = Field(8, ge=1, le=128)
    max_messages: int = Field(256, ge=1, le=100_000)
    max_prompt_chars: int = Field(100_000, ge=1, le=100_000_000)
    max_tools: int = Field(32, ge=0, le=1024)
    max_tokens: int = Field(0, ge=0, le=10_000_000, description="0: the context decides")
    max_concurrent: int = Field(0, ge=0, le=10_000, description="0: the backend's own choice")
    max_queue: int = Field(64, ge=0, le=100_000)
    queue_timeout: float = Field(30.0, gt=0, le=3600)
    stream_keepalive_seconds: float = Field(
        10.0, ge=0, le=3600, description="keep-alive interval of a stream before its first token"
    )
    rate_limit_rpm: int = Field(
        0, ge=0, le=10_000_000, description="per API key (or client address), per worker; 0: off"
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="peers (CIDRs) whose X-Forwarded-For names the client; empty: none",
    )

    # --- the store: responses, conversations, stored chat completions -------------------
    response_store: str = Field(
        "data/responses.db",
        min_length=1,
        description="a SQLite file shared by the workers, or redis://host:6379/0 for replicas",
    )
    response_ttl: float = Field(
        86_400, gt=0, le=366 * 86_400, description="seconds kept after the last change"
    )
    response_store_max: int = Field(
        10_000,
        ge=1,
        le=100_000_000,
        description="responses kept in all; conversations and stored completions per key",
    )

    # --- embeddings ---------------------------------------------------------------------
    embedding_token_ids: Literal["cl100k_base", "model"] = Field(
        "cl100k_base",
        description="token-id input: OpenAI's tokenizer (what the SDKs and LangChain send), "
        "or the model's own vocabulary",
    )
    cl100k_path: str = Field(CL100K_BASE.path, description="cl100k_base ranks (make model)")

    # --- observability ------------------------------------------------------------------
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_content: bool = False
    otel_exporter_otlp_endpoint: str | None = Field(
        None,
        description="an OTLP/HTTP collector's base URL (http://collector:4318): turns traces on",
    )
    otel_service_name: str = Field("llm-gateway", min_length=1, max_length=256)

    @field_validator("model_aliases", "host", "api_keys", "trusted_proxies", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return split_csv(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        parse_networks(value)  # raises, naming the entry that is no address or CIDR
        return value

    @field_validator("model_backend")
    @classmethod
    def _backend_name(cls, value: str) -> str:
        value = value.strip()
        if value in {"mock", "llama", "openai"} or (":" in value and all(value.split(":", 1))):
            return value
        raise ValueError(
            "must be 'mock', 'llama', 'openai' or 'package.module:ClassName' for your own "
            "backend class"
        )

    @model_validator(mode="after")
    def _hosts_present(self) -> Settings:
        if not self.host:
            raise ValueError("HOST must name at least one address to listen on")
        return self

    @field_validator("api_keys_file", "metrics_token_file")
    @classmethod
    def _readable_file(cls, value: str | None) -> str | None:
        return None if value is None else check_readable(value)

    @model_validator(mode="after")
    def _metrics_token_from_file(self) -> Settings:
        if self.metrics_token_file and not self.metrics_token:
            with open(self.metrics_token_file, encoding="utf-8") as token_file:
                self.metrics_token = token_file.read().strip() or None
        return self

    @field_validator("api_keys_file")
    @classmethod
    def _key_file_holds_a_key(cls, value: str | None) -> str | None:
        """A key file with no key would leave the server open while it looks keyed."""
        if value is not None:
            with open(value, encoding="utf-8") as key_file:
                lines = (line.strip() for line in key_file)
                if not any(line and not line.startswith("#") for line in lines):
                    raise ValueError(f"{value} holds no key (one per line; '#' starts a comment)")
        return value

    @model_validator(mode="after")
    def _no_open_public_site(self) -> Settings:
        keys = self.api_keys or self.api_keys_file
        if is_public_site(self.site_address) and not keys and not self.allow_public_without_keys:
            raise ValueError(
                f"SITE_ADDRESS={self.site_address} is a public domain but neither API_KEYS nor "
                "API_KEYS_FILE is set, so anyone could use this server. Configure keys, or set "
                "ALLOW_PUBLIC_WITHOUT_KEYS=true to run it open on purpose."
            )
        return self

    @property
    def auth_enabled(self) -> bool:
        return bool(self.api_keys or self.api_keys_file)


def is_public_site(address: str) -> bool:
    """True for a name or address reachable from the internet (a real domain)."""
    host = address.strip().lower()
    for prefix in ("https://", "http://"):
        host = host.removeprefix(prefix)
    host = host.split("/", 1)[0]
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if not host or host.startswith(":"):
        return False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        local_suffixes = (".localhost", ".local", ".internal", ".test", ".lan", ".home.arpa")
        return host != "localhost" and "." in host and not host.endswith(local_suffixes)
    return ip.is_global


def load_settings(**overrides: object) -> Settings:
    """Build settings or exit with one readable line per bad variable."""
    return read_settings(Settings, **overrides)
