"""The KV of sequences that left their slot, kept in host memory so that a returning
conversation restores its prefix (a memory copy) instead of evaluating it again.

A slot's cells are the prefix cache of the next prompt that takes it; with more
conversations than slots, another conversation's prompt takes the slot and the history is
gone. Before that happens the engine saves the slot's state here (llama.cpp's per-sequence
state: positions and keys/values of every layer, about 23 KB per token for the default
model). Entries are evicted least-recently-used once their bytes pass the limit; an entry
whose tokens are a prefix of a newer one is dropped (the conversation's previous turn).

Used by the engine thread only.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .kv_slots import common_prefix


@dataclass(eq=False, slots=True)
class SavedPrefix:
    tokens: list[int]
    """The tokens whose KV `state` holds, at positions 0, 1, ..."""
    state: np.ndarray[Any, Any]
    """llama.cpp's serialized sequence state (bytes)."""


@dataclass(slots=True)
class HostCacheStats:
    """Counters since start (read by tests and the benchmark)."""

    saved: int = 0
    restored: int = 0
    evicted: int = 0
    tokens_restored: int = 0
    refused: int = 0
    """States larger than the whole cache, not kept."""


@dataclass(eq=False)
class HostCache:
    """At most `limit` bytes of saved sequence states (0: nothing is kept)."""

    limit: int
    stats: HostCacheStats = field(default_factory=HostCacheStats)
    _entries: OrderedDict[int, SavedPrefix] = field(default_factory=OrderedDict)
    _bytes: int = 0
    _next: int = 0

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def holds(self, tokens: list[int]) -> bool:
        """Whether an entry already holds KV for all of `tokens` (saving again adds nothing)."""
        n = len(tokens)
        return any(len(e.tokens) >= n and e.tokens[:n] == tokens for e in self._entries.values())

    def best(self, prompt: list[int]) -> tuple[SavedPrefix | None, int]:
        """The entry sharing the longest prefix with `prompt`, and that length (never all of
        the prompt: its last token is evaluated for its logits)."""
        found, longest = None, 0
        for entry in self._entries.values():
            common = common_prefix(entry.tokens, prompt)
            if common > longest:
                found, longest = entry, common
        return found, min(longest, len(prompt) - 1)

    def used(self, entry: SavedPrefix) -> None:
        """An entry was restored: it is now the most recently used."""
        for key, held in self._entries.items():
            if held is entry:
                self._entries.move_to_end(key)
                return

    def add(self, tokens: list[int], state: np.ndarray[Any, Any]) -> bool:
        """Keep a state (False when it alone is over the limit). Entries it extends go;
        then the least recently used ones until the bytes fit."""
        size = int(state.nbytes)
        if size > self.limit:
            self.stats.refused += 1
            return False
        for key in [k for k, e in self._entries.items() if tokens[: len(e.tokens)] == e.tokens]:
            self._drop(key)
        while self._entries and self._bytes + size > self.limit:
            self._drop(next(iter(self._entries)))
            self.stats.evicted += 1
        self._entries[self._next] = SavedPrefix(list(tokens), state)
        self._next += 1
        self._bytes += size
        self.stats.saved += 1
        return True

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def _drop(self, key: int) -> None:
        self._bytes -= int(self._entries.pop(key).state.nbytes)
