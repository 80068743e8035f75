"""Per-request limits: each a setting, each refused with a 400 that names the parameter.
Each translator applies the ones its API shape has."""

from __future__ import annotations

from collections.abc import Sized
from dataclasses import dataclass

from ..errors import InvalidRequest


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
