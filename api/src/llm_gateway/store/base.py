"""The store interface. Records are plain JSON-able dicts, scoped by an owner (the API key's
digest), so one key can never read, continue or delete another's conversations.

Three things live here: stored responses (`save`/`get`/`items`/`delete`), and two kinds of
objects (`Kind`): conversations, whose items are appended atomically (two responses on one
conversation at once lose nothing), and stored chat completions. Everything expires `ttl`
seconds after its last change; responses are capped at `max_responses` in all, objects at
`max_responses` per owner and kind (the oldest go first)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
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


class Kind(StrEnum):
    """The objects kept besides responses, each scoped by owner and capped per owner."""

    CONVERSATION = "conversation"
    COMPLETION = "chat.completion"


Change = Callable[[dict[str, Any]], dict[str, Any]]


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

    # --- objects: conversations and stored chat completions ---------------------------

    @abstractmethod
    async def put_object(
        self, owner: str, kind: Kind, object_id: str, record: dict[str, Any], items: list[Item]
    ) -> None:
        """Keep a new object (and, for a conversation, its first items); beyond the cap the
        owner's oldest object of this kind goes."""

    @abstractmethod
    async def get_object(self, owner: str, kind: Kind, object_id: str) -> dict[str, Any] | None: ...

    @abstractmethod
    async def update_object(
        self, owner: str, kind: Kind, object_id: str, change: Change
    ) -> dict[str, Any] | None:
        """Replace the record by `change(record)` atomically; None when there is none."""

    @abstractmethod
    async def delete_object(self, owner: str, kind: Kind, object_id: str) -> bool: ...

    @abstractmethod
    async def list_objects(self, owner: str, kind: Kind) -> list[dict[str, Any]]:
        """The owner's live objects of this kind, oldest first."""

    @abstractmethod
    async def append_items(self, owner: str, conversation_id: str, items: list[Item]) -> bool:
        """Add items at the end of a conversation in one step (concurrent appends interleave
        but lose nothing); False when the conversation does not exist."""

    @abstractmethod
    async def conversation_items(self, owner: str, conversation_id: str) -> list[Item] | None:
        """Every item of a conversation in order; None when the conversation does not exist."""

    @abstractmethod
    async def delete_item(self, owner: str, conversation_id: str, item_id: str) -> bool: ...

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
