"""Per-request limits: each a setting, each refused with a 400 that names the parameter."""

from __future__ import annotations

from collections.abc import Sized
from dataclasses import dataclass

from ..errors import InvalidRequest
from ..protocol.chat import ChatCompletionRequest
from ..protocol.completions import CompletionRequest
from ..protocol.responses import (
    AnyItem,
    CreateResponseRequest,
    FunctionCallOutputItem,
    MessageItem,
    parts_text,
)


@dataclass(frozen=True, slots=True)
class Limits:
    max_n: int = 8
    max_messages: int = 256
    max_prompt_chars: int = 100_000
    max_tools: int = 32
    max_tokens: int = 0
    """Most completion tokens one request may ask for; 0: only the model's context limits."""

    def completion_tokens(self, requested: int | None, explicit: bool) -> int | None:
        """What the backend is asked for: a default above the cap comes down to it."""
        if not self.max_tokens or (explicit and requested is not None):
            return requested
        return self.max_tokens if requested is None else min(requested, self.max_tokens)

    # --- one rule each ------------------------------------------------------------------

    def check_n(self, n: int | None) -> None:
        if (n or 1) > self.max_n:
            raise InvalidRequest(f"'n' must be at most {self.max_n} on this server.", param="n")

    def check_token_cap(self, requested: int | None, param: str) -> None:
        if self.max_tokens and requested is not None and requested > self.max_tokens:
            raise InvalidRequest(
                f"'{param}' must be at most {self.max_tokens} on this server.", param=param
            )

    def check_items(self, items: Sized, noun: str, param: str) -> None:
        if len(items) > self.max_messages:
            raise InvalidRequest(
                f"At most {self.max_messages} {noun} are accepted; got {len(items)}.",
                param=param,
            )

    def check_chars(self, chars: int, noun: str, param: str) -> None:
        if chars > self.max_prompt_chars:
            raise InvalidRequest(
                f"The {noun} is {chars} characters long; the limit is {self.max_prompt_chars}.",
                param=param,
            )

    def check_tools(self, tools: Sized | None) -> None:
        if tools and len(tools) > self.max_tools:
            raise InvalidRequest(
                f"At most {self.max_tools} tools are accepted; got {len(tools)}.", param="tools"
            )

    # --- per endpoint -------------------------------------------------------------------

    def check_chat(self, req: ChatCompletionRequest) -> None:
        self.check_n(req.n)
        param = "max_completion_tokens" if req.max_completion_tokens else "max_tokens"
        self.check_token_cap(req.token_limit, param)
        self.check_items(req.messages, "messages", "messages")
        self.check_chars(sum(len(m.text()) for m in req.messages), "input", "messages")
        self.check_tools(req.tools)

    def check_completion(self, req: CompletionRequest) -> None:
        self.check_n(req.n)
        explicit = req.max_tokens if "max_tokens" in req.model_fields_set else None
        self.check_token_cap(explicit, "max_tokens")
        self.check_chars(sum(len(p) for p in req.prompts), "prompt", "prompt")
        if len(req.prompts) * (req.n or 1) > self.max_n * 4:
            raise InvalidRequest(
                f"len(prompt) * n must be at most {self.max_n * 4} on this server.",
                param="prompt",
            )

    def check_responses(self, req: CreateResponseRequest, items: list[AnyItem]) -> None:
        self.check_token_cap(req.max_output_tokens, "max_output_tokens")
        self.check_items(items, "input items", "input")
        texts = [i.content for i in items if isinstance(i, MessageItem)]
        texts += [i.output for i in items if isinstance(i, FunctionCallOutputItem)]
        chars = len(req.instructions or "") + sum(len(parts_text(t)) for t in texts)
        self.check_chars(chars, "input", "input")
        self.check_tools(req.tools)
