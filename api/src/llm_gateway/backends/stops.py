"""Incremental stop-sequence matching for backends that don't do it natively."""

from __future__ import annotations


class StopMatcher:
    """Feed text as it comes; get back what is safe to emit and whether a stop hit.

    Text that could be the start of a stop sequence is held back until it is known
    not to be one, so a stop sequence split over tokens is still caught and never
    shown to the client.
    """

    __slots__ = ("_buffer", "_stops", "matched")

    def __init__(self, stops: tuple[str, ...] | list[str]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._buffer = ""
        self.matched: str | None = None
        """The stop sequence that ended the text, once one has (APIs that name it read it)."""

    def feed(self, text: str) -> tuple[str, bool]:
        if not self._stops:
            return text, False
        buffer = self._buffer + text
        hits = [(i, stop) for stop in self._stops if (i := buffer.find(stop)) >= 0]
        if hits:
            cut, self.matched = min(hits, key=lambda hit: hit[0])
            self._buffer = ""
            return buffer[:cut], True
        hold = self._held_suffix(buffer)
        self._buffer = buffer[len(buffer) - hold :] if hold else ""
        return buffer[: len(buffer) - hold], False

    def flush(self) -> str:
        """What was held back, once the stream ended without a stop."""
        rest, self._buffer = self._buffer, ""
        return rest

    def _held_suffix(self, buffer: str) -> int:
        longest = 0
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(buffer)), longest, -1):
                if buffer.endswith(stop[:size]):
                    longest = size
                    break
        return longest
