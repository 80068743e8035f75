"""`POST /v1/completions` → a `Call`: a prompt group per prompt, each of `n` choices."""

from __future__ import annotations

from ..backends import GenerationRequest, PromptGroup
from ..errors import InvalidRequest
from ..protocol.completions import CompletionRequest
from ..service.call import Call
from ..service.limits import Limits
from ..service.registry import ModelRegistry
from . import rules
from .chat import sampling

HANDLED = frozenset(
    {"model", "prompt", "stream", "stream_options", "n", "stop", "max_tokens", "user", "echo"}
)
"""Text-completion fields this translator honours for every backend."""


def check_limits(req: CompletionRequest, limits: Limits) -> None:
    limits.check_n(req.n)
    limits.check_chars(sum(len(p) for p in req.prompts), "prompt", "prompt")
    if len(req.prompts) * (req.n or 1) > limits.max_n * 4:
        raise InvalidRequest(
            f"len(prompt) * n must be at most {limits.max_n * 4} on this server.",
            param="prompt",
        )


def completion_call(req: CompletionRequest, models: ModelRegistry, limits: Limits) -> Call:
    check_limits(req, limits)
    explicit = "max_tokens" in req.model_fields_set
    served = models.resolve(req.model, "completions")
    max_tokens = rules.completion_tokens(
        served, limits, req.max_tokens, "max_tokens", explicit=explicit
    )
    shared = sampling(req)
    groups = tuple(
        PromptGroup(
            GenerationRequest(
                prompt=prompt,
                max_tokens=max_tokens,
                logprobs=req.logprobs,
                model=req.model,
                **shared,
            ),
            req.n or 1,
        )
        for prompt in req.prompts
    )
    return Call(served, groups, ignored=rules.ignored(req.given_fields(), HANDLED, served))
