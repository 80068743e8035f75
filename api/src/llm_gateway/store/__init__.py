"""State shared by every worker and replica, behind one interface: stored Responses (and,
with Redis, the rate-limit buckets). SQLite embedded by default, Redis in the stacks."""

from .base import KeyUsage, ResponseStore, StoredResponse, StoreUnavailable
from .open import open_store

__all__ = ["KeyUsage", "ResponseStore", "StoreUnavailable", "StoredResponse", "open_store"]
