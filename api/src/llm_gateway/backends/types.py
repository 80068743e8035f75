"""Plain data crossing the backend boundary: what to generate, and what came out.

Deliberately free of pydantic and HTTP so that a user's own backend class, an upstream
pass-through and a batching engine can all speak it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

FinishReason = Literal["stop", "length", "tool_calls", "content_filter"]


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message, content already flattened to text."""

    role: str
    content: str
    name: str | None = None
    tool_calls: tuple[dict[str, Any], ...] = ()
    tool_call_id: str | None = None


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """One choice to generate: a chat (`messages`) or a raw text `prompt`, never both."""

    messages: tuple[Message, ...] | None = None
    prompt: str | None = None
    max_tokens: int | None = None
    fit_max_tokens: bool = False
    """`max_tokens` is only a cap: when the prompt leaves less room in the context, generate
    what fits (finish "length") instead of refusing. A prompt that itself does not fit is
    still refused."""
    stop: tuple[str, ...] = ()
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    """Sample from the k most likely tokens only (the Anthropic API's `top_k`); honoured by
    backends that declare `top_k` in `supported_params`, None: the backend's own default."""
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[int, float] = field(default_factory=dict)
    logprobs: int | None = None
    """None: no logprobs. 0..20: logprob of each token plus that many alternatives."""
    response_format: Literal["text", "json_object", "json_schema"] = "text"
    json_schema: dict[str, Any] | None = None
    json_schema_name: str | None = None
    json_schema_strict: bool | None = None
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: str = "auto"
    """'none', 'auto', 'required', or the name of the one function that must be called."""
    choice_index: int = 0
    """Which of the `n` choices this is; backends use it to vary unseeded output."""
    model: str | None = None
    """The model id the client asked for (an alias included); a backend that forwards to
    another server may name it there."""


@dataclass(frozen=True, slots=True)
class PromptGroup:
    """One prompt and how many choices to generate from it (a request's `n`). A call is a
    sequence of groups; its choices are numbered across them, group by group (the `n`
    choices of the first group are 0..n-1, and so on)."""

    request: GenerationRequest
    n: int = 1


@dataclass(frozen=True, slots=True)
class EmbeddingRequest:
    """Texts, or token ids (already tokenized by the client), to embed, in order."""

    inputs: tuple[str | tuple[int, ...], ...]
    dimensions: int | None = None
    """Length of each vector; None: the model's own. Only asked of backends that declare
    `supports_dimensions`."""
    model: str | None = None
    """The model id the client asked for, as for `GenerationRequest.model`."""


@dataclass(slots=True)
class Embeddings:
    """One vector per input, in the order given (plain floats, L2-normalised unless the model
    says otherwise), and the tokens the inputs took."""

    vectors: list[list[float]]
    prompt_tokens: int


@dataclass(frozen=True, slots=True)
class TopLogprob:
    token: str
    logprob: float
    bytes: list[int] | None


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    token: str
    logprob: float
    bytes: list[int] | None
    top: tuple[TopLogprob, ...] = ()


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A fragment of a tool call: id and name come first, then argument pieces."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(slots=True)
class Delta:
    """What a backend yields. The last delta of a choice has `finish_reason` set and
    carries the token counts for that choice. Earlier deltas may carry them as running
    totals, so that a choice cut short (client gone) is still accounted for."""

    text: str = ""
    tool_calls: list[ToolCallDelta] | None = None
    logprobs: list[TokenLogprob] | None = None
    finish_reason: FinishReason | None = None
    stop_sequence: str | None = None
    """With finish_reason "stop": the stop sequence that ended the choice, when one did (the
    Anthropic API names it; None when the model ended on its own or the backend can't tell)."""
    prompt_tokens: int | None = None
    cached_tokens: int | None = None
    """Of `prompt_tokens`, how many the backend took from a cache instead of evaluating
    them (a prefix it still held or restored); with `prompt_tokens`, once per prompt."""
    completion_tokens: int | None = None
