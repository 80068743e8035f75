"""Rules every API shape applies the same way, written once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..errors import InvalidRequest
from ..service.limits import Limits
from ..service.registry import ServedModel


def text_only(kinds: Sequence[str], param: str, *, noun: str = "part") -> None:
    """The models served here read text: any other content is a 400 naming the first kind."""
    if kinds:
        raise InvalidRequest(
            f"This model accepts only text content; got a '{kinds[0]}' {noun}.", param=param
        )


def tool_choice(tools_given: bool, choice: str | None, named: str | None = None) -> str:
    """The backend's `tool_choice`: 'none', 'auto', 'required', or the one function's name.
    Without tools it is 'none'; with tools and no choice, 'auto' (as OpenAI)."""
    if named is not None:
        return named
    if choice is not None:
        return choice
    return "auto" if tools_given else "none"


def completion_tokens(
    served: ServedModel,
    limits: Limits,
    requested: int | None,
    param: str,
    *,
    explicit: bool = True,
) -> int | None:
    """What the backend is asked for. A limit the client set must be within the server's cap
    and below the model's context window (the prompt's share is the backend's to check,
    exactly, once it has tokenized it); a default above the cap comes down to it."""
    if explicit:
        limits.check_token_cap(requested, param)
        window = served.backend.context_window
        if window is not None and requested is not None and requested >= window:
            raise InvalidRequest(
                f"'{param}' is too large: {requested}. This model's context window is "
                f"{window} tokens, prompt and completion together.",
                param=param,
                code="context_length_exceeded",
            )
    return limits.completion_tokens(requested, explicit)


def fitted_tokens(
    served: ServedModel, limits: Limits, requested: int, param: str
) -> tuple[int, tuple[str, ...]]:
    """For APIs whose token limit is only a cap that clients set far above a small model's
    context (Claude Code asks for 32k-128k): brought down to the server's cap and the context
    window instead of refused; the backend then generates what fits after the prompt
    (`fit_max_tokens`). Returns the limit and `(param,)` when it was lowered here (named in
    `x-ignored-params`), else `()`."""
    fitted = requested
    if limits.max_tokens:
        fitted = min(fitted, limits.max_tokens)
    window = served.backend.context_window
    if window is not None:
        fitted = min(fitted, window - 1)
    return fitted, (param,) if fitted < requested else ()


def ignored(
    given: Iterable[str], handled: Iterable[str], served: ServedModel, *extra: str
) -> tuple[str, ...]:
    """Fields the client sent that neither the translator nor the backend honours, sorted
    (the `x-ignored-params` header), plus `extra` names the translator decided to drop."""
    honoured = set(handled) | served.backend.supported_params
    return tuple(sorted({name for name in given if name not in honoured} | set(extra)))
