"""State shared by every worker and replica, behind one interface: stored Responses,
conversations, stored chat completions (and, with Redis, the rate-limit buckets). SQLite
embedded by default, Redis in the stacks."""

from .base import KeyUsage, Kind, ResponseStore, StoredResponse, StoreUnavailable
from .open import open_store

__all__ = [
    "KeyUsage",
    "Kind",
    "ResponseStore",
    "StoreUnavailable",
    "StoredResponse",
    "open_store",
]
