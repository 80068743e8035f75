"""The one interface every model backend implements, and the base of its settings."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import replace
from typing import ClassVar, Generic

from typing_extensions import TypeVar

from ..env import EnvSettings
from .metrics import NoUpstreamMetrics, UpstreamMetrics
from .types import Delta, EmbeddingRequest, Embeddings, GenerationRequest, PromptGroup


class BackendSettings(EnvSettings):
    """A backend's own knobs. Subclass it with fields named like their environment variables
    (`n_ctx` reads N_CTX); values come from the environment, then `.env`, and are validated
    at start-up with the same one-line errors as the server's settings."""


SettingsT = TypeVar("SettingsT", bound=BackendSettings, default=BackendSettings)

GENERATION_PARAMS: frozenset[str] = frozenset(
    {
        "temperature",
        "top_p",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "response_format",
        "tools",
        "tool_choice",
    }
)
"""Every optional field a `GenerationRequest` carries: a backend honouring them all (a real
model, a pass-through) declares `supported_params = GENERATION_PARAMS`."""


ChoiceDelta = tuple[int, Delta]
"""A delta of one choice of a call: (the choice's index across the call's groups, delta)."""


class Backend(ABC, Generic[SettingsT]):
    """A model behind the API. Streaming first: non-streaming answers are folded from
    `stream_choices()` by the renderers, so the two can never disagree.

    One entry point, `stream_choices(groups)`: every choice of one API call. A backend that
    makes one choice at a time subclasses `SingleChoiceBackend` and writes `stream(request)`.
    Contract:
    - yield `(choice index, Delta)` as tokens come; each choice's last delta has
      `finish_reason` and token counts; deltas of different choices may interleave;
    - honour `max_tokens` and `stop` (the stop text itself is not returned);
    - raise `errors.APIError` subclasses for the client's mistakes (e.g.
      `ContextLengthExceeded`) before yielding anything, other exceptions for faults;
    - stop working promptly when the iterator is closed (client went away);
    - the `n` choices of a group share its prompt: use `choice_index` (set on each choice's
      request) to vary unseeded output.

    Settings: declare `settings_class = MySettings` (a `BackendSettings` subclass); the loader
    builds it and passes it to `__init__`. A backend never sees the server's configuration.
    """

    name: ClassVar[str] = "custom"
    settings_class: ClassVar[type[BackendSettings]] = BackendSettings
    supported_params: ClassVar[frozenset[str]] = frozenset()
    """Request fields this backend honours beyond the ones every backend must."""
    default_concurrency: int = 1
    """Generations one worker runs at once when MAX_CONCURRENT is not set (a class default;
    a backend may set it per instance from its settings, as llama does with N_PARALLEL)."""
    supports_chat: ClassVar[bool] = True
    supports_completions: ClassVar[bool] = True
    supports_embeddings: ClassVar[bool] = False
    """Whether `embed()` is implemented (the model is then listed for /v1/embeddings too)."""
    supports_dimensions: ClassVar[bool] = False
    """Whether `embed()` can shorten vectors to a requested `dimensions`."""

    def __init__(self, settings: SettingsT) -> None:
        self.settings = settings
        self.ready = False
        self.upstream_metrics: UpstreamMetrics = NoUpstreamMetrics()

    def attach_metrics(self, upstream_metrics: UpstreamMetrics) -> None:
        """Where to report per-upstream figures (the app passes its Prometheus series before
        `load()`); only backends that call other servers report any."""
        self.upstream_metrics = upstream_metrics

    @property
    def context_window(self) -> int | None:
        """Tokens a prompt and its completion may hold together (None: unknown, e.g. an
        upstream). The service refuses a completion limit that alone does not fit."""
        return None

    async def load(self) -> None:
        """Load weights / open connections. Called once, off the request path."""
        self.ready = True

    async def close(self) -> None:
        """Release resources at shutdown."""
        self.ready = False

    @abstractmethod
    def stream_choices(self, groups: Sequence[PromptGroup]) -> AsyncIterator[ChoiceDelta]:
        """Every choice of one API call, numbered across `groups` (see `PromptGroup`)."""

    async def count_tokens(self, request: GenerationRequest) -> int:
        """Tokens the prompt of `request` takes (its messages, tools and output instructions
        as the model reads them). This default generates one token and reads the prompt count
        the backend reports — a pass-through's upstream counts with its own tokenizer; a
        backend with its tokenizer at hand overrides it."""
        probe = replace(request, max_tokens=1, fit_max_tokens=True, stop=())
        async with aclosing(self.stream_choices([PromptGroup(probe)])) as deltas:  # type: ignore[type-var]
            async for _, delta in deltas:
                if delta.prompt_tokens is not None:
                    return delta.prompt_tokens
        return 0

    async def embed(self, request: EmbeddingRequest) -> Embeddings:
        """Embed every input (backends with `supports_embeddings`). Raise `errors.APIError`
        subclasses for the client's mistakes (e.g. an input longer than the model takes)."""
        raise NotImplementedError(f"the {self.name} backend does not embed")


def choice_requests(groups: Sequence[PromptGroup]) -> list[GenerationRequest]:
    """One request per choice, in choice order, each with its `choice_index` in its group."""
    return [
        group.request if i == 0 else replace(group.request, choice_index=i)
        for group in groups
        for i in range(group.n)
    ]


class SingleChoiceBackend(Backend[SettingsT]):
    """For backends that generate one choice at a time: write `stream(request)`; the choices
    of a call then run one after another."""

    @abstractmethod
    def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        """Generate one choice."""

    async def stream_choices(self, groups: Sequence[PromptGroup]) -> AsyncIterator[ChoiceDelta]:
        for index, request in enumerate(choice_requests(groups)):
            async with aclosing(self.stream(request)) as deltas:  # type: ignore[type-var]
                async for delta in deltas:
                    yield index, delta
