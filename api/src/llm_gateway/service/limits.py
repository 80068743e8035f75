"""Per-request limits: each a setting, each refused with a 400 that names the parameter."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidRequest
from ..protocol.chat import ChatCompletionRequest
from ..protocol.common import SamplingFields
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

    def _common(self, req: SamplingFields, token_limit: int | None, token_param: str) -> None:
        if (req.n or 1) > self.max_n:
            raise InvalidRequest(f"'n' must be at most {self.max_n} on this server.", param="n")
        if self.max_tokens and token_limit is not None and token_limit > self.max_tokens:
            raise InvalidRequest(
                f"'{token_param}' must be at most {self.max_tokens} on this server.",
                param=token_param,
            )

    def check_chat(self, req: ChatCompletionRequest) -> None:
        param = "max_completion_tokens" if req.max_completion_tokens else "max_tokens"
        self._common(req, req.token_limit, param)
        if len(req.messages) > self.max_messages:
            raise InvalidRequest(
                f"At most {self.max_messages} messages are accepted; got {len(req.messages)}.",
                param="messages",
            )
        chars = sum(len(m.text()) for m in req.messages)
        if chars > self.max_prompt_chars:
            raise InvalidRequest(
                f"The messages are {chars} characters long; the limit is {self.max_prompt_chars}.",
                param="messages",
            )
        if req.tools and len(req.tools) > self.max_tools:
            raise InvalidRequest(
                f"At most {self.max_tools} tools are accepted; got {len(req.tools)}.",
                param="tools",
            )

    def check_completion(self, req: CompletionRequest) -> None:
        explicit = req.max_tokens if "max_tokens" in req.model_fields_set else None
        self._common(req, explicit, "max_tokens")
        chars = sum(len(p) for p in req.prompts)
        if chars > self.max_prompt_chars:
            raise InvalidRequest(
                f"The prompt is {chars} characters long; the limit is {self.max_prompt_chars}.",
                param="prompt",
            )
        if len(req.prompts) * (req.n or 1) > self.max_n * 4:
            raise InvalidRequest(
                f"len(prompt) * n must be at most {self.max_n * 4} on this server.",
                param="prompt",
            )

    def check_responses(self, req: CreateResponseRequest, items: list[AnyItem]) -> None:
        limit = req.max_output_tokens
        if self.max_tokens and limit is not None and limit > self.max_tokens:
            raise InvalidRequest(
                f"'max_output_tokens' must be at most {self.max_tokens} on this server.",
                param="max_output_tokens",
            )
        if len(items) > self.max_messages:
            raise InvalidRequest(
                f"At most {self.max_messages} input items are accepted; got {len(items)}.",
                param="input",
            )
        chars = len(req.instructions or "") + sum(
            len(parts_text(i.content))
            if isinstance(i, MessageItem)
            else len(parts_text(i.output))
            if isinstance(i, FunctionCallOutputItem)
            else 0
            for i in items
        )
        if chars > self.max_prompt_chars:
            raise InvalidRequest(
                f"The input is {chars} characters long; the limit is {self.max_prompt_chars}.",
                param="input",
            )
        if req.tools and len(req.tools) > self.max_tools:
            raise InvalidRequest(
                f"At most {self.max_tools} tools are accepted; got {len(req.tools)}.",
                param="tools",
            )
