"""What this deployment serves: the models listed in MODELS_FILE, or else the one model the
MODEL_* settings describe (so a single-model setup needs no file).

MODELS_FILE (YAML)::

    models:
      - id: smollm2                      # the id clients use
        backend: llama                   # llama | mock | openai | package.module:Class
        aliases: [gpt-3.5-turbo]         # more ids for the same model
        concurrency: 4                   # generations at once per worker (default: the backend's)
        endpoints: [chat, responses]     # some of: chat completions responses messages embeddings
        owned_by: my-team
        settings:                        # the backend's own settings (its class validates them;
          n_ctx: 4096                    # the environment fills in the rest)
      - id: llama-3-70b
        backend: openai
        settings: {upstream_base_url: "http://vllm:8000/v1"}

A mistake stops start-up with one line per problem, naming the entry and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .config import Settings
from .env import SettingsError

Endpoint = Literal["chat", "completions", "responses", "messages", "embeddings"]


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    id: Annotated[str, Field(min_length=1, max_length=256)]
    backend: Annotated[str, Field(min_length=1)]
    aliases: list[Annotated[str, Field(min_length=1, max_length=256)]] = []
    concurrency: Annotated[int, Field(ge=1, le=10_000)] | None = None
    endpoints: list[Endpoint] | None = None
    owned_by: str = "llm-gateway"
    settings: dict[str, Any] = {}

    @field_validator("backend")
    @classmethod
    def _backend_name(cls, value: str) -> str:
        value = value.strip()
        if ":" in value and not all(value.split(":", 1)):
            raise ValueError("must be a built-in backend name or 'package.module:ClassName'")
        return value

    @property
    def ids(self) -> list[str]:
        return list(dict.fromkeys([self.id, *self.aliases]))


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: Annotated[list[ModelSpec], Field(min_length=1)]


def _from_file(path: str) -> list[ModelSpec]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        catalog = Catalog.model_validate(data)
    except OSError as exc:
        raise SettingsError(f"invalid configuration:\n  MODELS_FILE: {exc}") from None
    except yaml.YAMLError as exc:
        raise SettingsError(f"invalid configuration:\n  MODELS_FILE={path}: {exc}") from None
    except ValidationError as exc:
        lines = ["invalid configuration:"]
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(top level)"
            lines.append(f"  MODELS_FILE={path}: {where}: {err['msg']}")
        raise SettingsError("\n".join(lines)) from None
    seen: dict[str, str] = {}
    for spec in catalog.models:
        for model_id in spec.ids:
            if model_id in seen:
                raise SettingsError(
                    f"invalid configuration:\n  MODELS_FILE={path}: the id '{model_id}' is "
                    f"served twice (by '{seen[model_id]}' and '{spec.id}')"
                )
            seen[model_id] = spec.id
    return catalog.models


def served_models(settings: Settings) -> list[ModelSpec]:
    if settings.models_file:
        return _from_file(settings.models_file)
    return [
        ModelSpec(
            id=settings.model_id,
            backend=settings.model_backend,
            aliases=[a for a in settings.model_aliases if a != settings.model_id],
            owned_by=settings.model_owned_by,
        )
    ]
