"""The store interface. Records are plain JSON-able dicts, scoped by an owner (the API key's
digest), so one key can never read, continue or delete another's conversations."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import ServiceUnavailable

Item = dict[str, Any]


class StoreUnavailable(ServiceUnavailable):
    """The shared store cannot be reached: only requests that need it fail (503)."""

    code = "store_unavailable"

    def __init__(self, detail: str = "") -> None:
        super().__init__(
            "The response store is unavailable; retry shortly."
            + (f" ({detail})" if detail else ""),
            headers={"Retry-After": "2"},
        )


@dataclass(slots=True)
class StoredResponse:
    """A response as `GET /v1/responses/{id}` returns it, the input items it was given (for
    `/input_items`), and its whole conversation (what `previous_response_id` continues)."""

    id: str
    response: dict[str, Any]
    input_items: list[Item] = field(default_factory=list)
    conversation: list[Item] = field(default_factory=list)

    @property
    def items(self) -> list[Item]:
        """Every item this response introduced (its input and its output), by id."""
        return [*self.input_items, *self.response.get("output", [])]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "response": self.response,
            "input_items": self.input_items,
            "conversation": self.conversation,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoredResponse:
        return cls(data["id"], data["response"], data["input_items"], data["conversation"])


@dataclass(slots=True)
class KeyUsage:
    """One key name's use of one UTC day (requests that reached the app)."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class ResponseStore(ABC):
    """Bounded: records expire after `ttl` seconds, and beyond `max_responses` the oldest go."""

    def __init__(self, ttl: float, max_responses: int) -> None:
        self.ttl = ttl
        self.max_responses = max_responses

    @abstractmethod
    async def save(self, owner: str, record: StoredResponse) -> None: ...

    @abstractmethod
    async def get(self, owner: str, response_id: str) -> StoredResponse | None: ...

    @abstractmethod
    async def items(self, owner: str, item_ids: list[str]) -> dict[str, Item]:
        """The stored items among `item_ids` (missing ones are left out)."""

    @abstractmethod
    async def delete(self, owner: str, response_id: str) -> bool: ...

    @abstractmethod
    async def ping(self) -> None:
        """Raise `StoreUnavailable` when the store cannot be used right now."""

    # --- per-key usage and quota counters (days are UTC dates, minutes epoch minutes) ----

    @abstractmethod
    async def quota_state(self, name: str, day: str, minute: int | None) -> tuple[int, KeyUsage]:
        """Count one request in `minute` (when given: a requests-per-minute quota) and read
        the day's usage, in one round trip: (requests in that minute so far, the day's use)."""

    @abstractmethod
    async def add_usage(self, name: str, day: str, prompt: int, completion: int) -> None:
        """One finished request of `name` and its tokens."""

    @abstractmethod
    async def usage(self, name: str, day: str) -> KeyUsage: ...

    def shared_rate_limit(
        self, capacity: int, period: float
    ) -> Callable[[str], Awaitable[float]] | None:
        """A `take(key) -> seconds to wait` over buckets every replica shares, when this
        store can hold them (Redis); None: each worker keeps its own."""
        return None

    async def close(self) -> None:
        return None
