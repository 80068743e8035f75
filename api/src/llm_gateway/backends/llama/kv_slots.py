"""The engine's sequence slots: one llama.cpp sequence id each, with the tokens its KV cells
hold, so that a new prompt can start from the longest prefix a free slot already has."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(eq=False, slots=True)
class KvSlot:
    seq_id: int
    tokens: list[int] = field(default_factory=list)
    """The tokens whose KV this sequence id holds, at positions 0, 1, ..."""


def common_prefix(a: list[int], b: list[int]) -> int:
    """Length of the longest common prefix (slice comparisons run in C)."""
    hi = min(len(a), len(b))
    if a[:hi] == b[:hi]:
        return hi
    lo, hi = 0, hi - 1  # a[:lo] == b[:lo] holds; a[:hi + 1] != b[:hi + 1]
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


class KvSlotPool:
    """`size` slots; taken for a sequence, given back when it ends (its cells stay as a
    prefix cache until the slot is taken again)."""

    def __init__(self, size: int) -> None:
        self.slots = [KvSlot(i) for i in range(size)]
        self._free = list(self.slots)

    @property
    def free(self) -> int:
        return len(self._free)

    def take_best(self, prompt: list[int]) -> tuple[KvSlot, int]:
        """The free slot whose cached tokens share the longest prefix with `prompt` (the
        lowest sequence id on a tie), and how many tokens of the prompt it already holds
        (never all of them: the last prompt token is evaluated again for its logits)."""
        best, best_common = self._free[0], -1
        for slot in self._free:
            common = common_prefix(slot.tokens, prompt) if slot.tokens else 0
            if common > best_common or (common == best_common and slot.seq_id < best.seq_id):
                best, best_common = slot, common
        self._free.remove(best)
        return best, min(best_common, len(prompt) - 1)

    def best_donor(self, prompt: list[int], taken: KvSlot) -> tuple[KvSlot | None, int]:
        """Among all other slots, busy ones included, the one holding the longest prefix of
        `prompt`, and how much of it can be copied (never the last prompt token)."""
        donor, longest = None, 0
        for slot in self.slots:
            if slot is not taken and slot.tokens:
                common = common_prefix(slot.tokens, prompt)
                if common > longest:
                    donor, longest = slot, common
        return donor, min(longest, len(prompt) - 1)

    def take_spare(self) -> KvSlot:
        """The free slot with the lowest sequence id: llama.cpp evaluates a run of
        consecutive ids as one graph, so busy ids are kept together."""
        spare = min(self._free, key=lambda s: s.seq_id)
        self._free.remove(spare)
        return spare

    def give_back(self, slot: KvSlot) -> None:
        self._free.append(slot)

    def reset(self) -> None:
        """Every slot free and empty (after the KV memory was cleared)."""
        for slot in self.slots:
            slot.tokens = []
        self._free = list(self.slots)
