"""The openai backend's own settings (UPSTREAM_*), read like the server's."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from ...env import check_readable, split_csv
from ..base import BackendSettings


class UpstreamSettings(BackendSettings):
    upstream_base_url: Annotated[list[str], NoDecode] = Field(
        description="OpenAI-compatible servers with their API path: http://host:8000/v1,...",
        min_length=1,
    )
    upstream_api_key: SecretStr | None = Field(
        None, description="sent as `Authorization: Bearer`; empty: no header"
    )
    upstream_api_key_file: str | None = Field(
        None, description="a file holding the key instead (e.g. secrets/upstream_api_key)"
    )
    upstream_model: str | None = Field(
        None, max_length=256, description="the model named upstream; empty: the requested id"
    )
    upstream_connect_timeout: float = Field(5.0, gt=0, le=600, description="seconds")
    upstream_read_timeout: float = Field(
        60.0, gt=0, le=3600, description="seconds without a byte, before or during a response"
    )
    upstream_cooldown: float = Field(
        10.0, ge=0, le=3600, description="seconds an upstream that failed to answer is skipped"
    )
    upstream_forward_n: bool = Field(
        True, description="ask for `n` choices in one upstream call (false: one call each)"
    )

    @field_validator("upstream_base_url", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return split_csv(value)

    @field_validator("upstream_base_url")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        out = []
        for url in urls:
            url = url.rstrip("/")
            parts = urlsplit(url)
            if parts.scheme not in {"http", "https"} or not parts.hostname:
                raise ValueError(f"{url!r} is not an http(s) URL")
            if not parts.path:  # the usual slip; other paths (/v1beta/openai) are fine
                raise ValueError(f"{url!r} needs its API path, e.g. {url}/v1")
            if parts.query or parts.fragment:
                raise ValueError(f"{url!r} must have no query or fragment")
            out.append(url)
        if len(set(out)) != len(out):
            raise ValueError("the same URL is listed twice")
        return out

    @field_validator("upstream_api_key_file")
    @classmethod
    def _readable_file(cls, value: str | None) -> str | None:
        return None if value is None else check_readable(value)

    @model_validator(mode="after")
    def _key_from_file(self) -> UpstreamSettings:
        if self.upstream_api_key_file and self.upstream_api_key is None:
            with open(self.upstream_api_key_file, encoding="utf-8") as key_file:
                key = key_file.read().strip()
            self.upstream_api_key = SecretStr(key) if key else None
        return self
