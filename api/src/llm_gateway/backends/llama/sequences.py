"""What the engine generates and reports: a `Job` per choice, the events it hands back, and
the engine-side state of each sequence (one choice) and group (the choices sharing a prompt).

`Job`s are built on the event loop; `EngineSequence`s and `Group`s are touched by the engine
thread only, except `EngineSequence.cancelled`, which the event loop sets (a plain attribute
write; the engine reads it once per step).
"""

from __future__ import annotations

import codecs
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from ..types import TokenLogprob

if TYPE_CHECKING:
    from ...compat.llama_cpp import Sampler
    from .kv_slots import KvSlot


@dataclass(slots=True)
class Job:
    """Everything the engine needs for one choice. Choices sharing a prompt share the same
    `tokens` list, which nobody mutates."""

    tokens: list[int]
    max_new_tokens: int
    temperature: float | None = None
    top_p: float | None = None
    seed: int = 0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    logit_bias: dict[int, float] = field(default_factory=dict)
    grammar: str | None = None
    logprobs: int | None = None


@dataclass(slots=True)
class Token:
    """One generated token (or, with `counted` False, text held back by the UTF-8 decoder
    and released at the end)."""

    text: str
    logprob: TokenLogprob | None = None
    counted: bool = True


@dataclass(slots=True)
class Finished:
    reason: str  # "stop" (end of generation) | "length" | "cancelled"
    completion_tokens: int


@dataclass(slots=True)
class Failed:
    """The engine could not go on with this sequence (llama.cpp failed); no internals."""

    message: str


EngineEvent = Token | Finished | Failed
Deliver = Callable[[int, list[EngineEvent]], None]
"""Called by the engine thread once per step with a sequence's new events: (index, events)."""


class Phase(Enum):
    WAITING = "waiting"  # in the engine's queue, no slot yet
    FOLLOWING = "following"  # has a slot; waits for its group's leader to finish the prompt
    PREFILLING = "prefilling"  # evaluating (the rest of) its prompt, a chunk per step
    GENERATING = "generating"  # one token per step
    DONE = "done"


@dataclass(eq=False, slots=True)
class EngineSequence:
    """One choice inside the engine."""

    index: int
    job: Job
    group: Group
    deliver: Deliver
    cancelled: bool = False
    phase: Phase = Phase.WAITING
    slot: KvSlot | None = None
    pending: list[int] = field(default_factory=list)
    """Tokens to evaluate next: the rest of the prompt, or the last sampled token."""
    sampler: Sampler | None = None
    produced: int = 0
    cached: int = 0
    """Prompt tokens its group did not evaluate: found in a slot, restored from the host
    cache, or copied from another slot (set when it takes a slot; the `n` choices of one
    prompt report the same)."""
    followers: list[EngineSequence] = field(default_factory=list)
    leader: EngineSequence | None = None
    out: list[EngineEvent] = field(default_factory=list)
    decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")("replace")
    )


@dataclass(eq=False, slots=True)
class Group:
    """The choices of one prompt: `waiting` ones not admitted yet (in order), `live` ones
    holding a slot."""

    prompt: list[int]
    waiting: deque[EngineSequence] = field(default_factory=deque)
    live: list[EngineSequence] = field(default_factory=list)


class Ticket:
    """The event loop's handle on one call's sequences."""

    def __init__(self, sequences: list[EngineSequence]) -> None:
        self._sequences = {s.index: s for s in sequences}

    def cancel(self, index: int) -> None:
        """Stop one choice: freed at the engine's next step (or dropped from its queue)."""
        self._sequences[index].cancelled = True

    def cached(self, index: int) -> int:
        """Prompt tokens of a choice not evaluated (read once its first event came: the
        engine thread wrote it before delivering that event)."""
        return self._sequences[index].cached

    def cancel_all(self) -> None:
        for sequence in self._sequences.values():
            sequence.cancelled = True
