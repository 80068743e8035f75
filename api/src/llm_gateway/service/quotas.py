"""Per-key quotas and usage, counted in the shared store so that every worker and replica
sees the same figures (SQLite for the workers of one machine, Redis across replicas).

A token budget is a day's (UTC) prompt + completion tokens; it is checked before a request
starts (its tokens are not known yet), so the request that crosses it is answered in full and
the next one is refused with `insufficient_quota`. Requests per minute are counted in fixed
one-minute windows; beyond the limit, `rate_limit_exceeded`. Both come with `Retry-After` and
OpenAI's `x-ratelimit-*` headers (which every answer to a key with a quota carries).

The store being down fails open: requests go on unlimited and uncounted in the store (the
Prometheus counters still count), with a warning at most once a minute and
`llm_gateway_store_errors_total` counting each failure. An outage of Redis must not stop all
traffic; a budget can be overspent by what is used during the outage.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from ..auth import Quota
from ..errors import APIError, QuotaExceeded, RateLimited
from ..store import KeyUsage, ResponseStore, StoreUnavailable

log = structlog.get_logger("llm_gateway.quotas")

DAY = 86_400


def reset_text(seconds: float) -> str:
    """A duration as OpenAI's `x-ratelimit-reset-*` headers write it: `1s`, `6m0s`, `2h3m4s`."""
    whole = max(1, math.ceil(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def utc_day(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


@dataclass(slots=True)
class Admitted:
    """What `Quotas.admit` decided: the headers for the answer, and the refusal if any."""

    headers: dict[str, str] = field(default_factory=dict)
    refusal: APIError | None = None


class Quotas:
    """`on_store_error(operation)` is told each failed store call (a metric)."""

    STORE_OPERATIONS = ("quota_state", "add_usage")
    """What `on_store_error` may be told."""

    def __init__(
        self,
        quotas: Mapping[str, Quota],
        store: ResponseStore,
        *,
        on_store_error: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.quotas = dict(quotas)
        self.store = store
        self._on_store_error = on_store_error
        self.clock = clock
        self._warned = -math.inf

    def _store_failed(self, operation: str) -> None:
        if self._on_store_error is not None:
            self._on_store_error(operation)
        now = time.monotonic()
        if now - self._warned > 60:
            self._warned = now
            log.warning("quota_store_unavailable", operation=operation, fail="open")

    async def admit(self, name: str) -> Admitted:
        """Before a request of `name` runs: count it against its RPM, check its budget."""
        quota = self.quotas.get(name)
        if quota is None:
            return Admitted()
        now = self.clock()
        rpm, tpd = quota.requests_per_minute, quota.tokens_per_day
        minute = int(now // 60)
        try:
            count, used = await self.store.quota_state(
                name, utc_day(now), minute if rpm is not None else None
            )
        except StoreUnavailable:
            self._store_failed("quota_state")
            return Admitted()
        admitted = Admitted()
        headers = admitted.headers
        if rpm is not None:
            minute_left = (minute + 1) * 60 - now
            headers["x-ratelimit-limit-requests"] = str(rpm)
            headers["x-ratelimit-remaining-requests"] = str(max(0, rpm - count))
            headers["x-ratelimit-reset-requests"] = reset_text(minute_left)
        if tpd is not None:
            day_left = DAY - now % DAY
            headers["x-ratelimit-limit-tokens"] = str(tpd)
            headers["x-ratelimit-remaining-tokens"] = str(max(0, tpd - used.total_tokens))
            headers["x-ratelimit-reset-tokens"] = reset_text(day_left)
            if used.total_tokens >= tpd:
                headers["Retry-After"] = str(math.ceil(day_left))
                admitted.refusal = QuotaExceeded(
                    f"You exceeded your current quota: the key '{name}' has used "
                    f"{used.total_tokens} of its {tpd} tokens for today (UTC).",
                    headers=headers,
                )
                return admitted
        if rpm is not None and count > rpm:
            headers["Retry-After"] = str(math.ceil(minute_left))
            admitted.refusal = RateLimited(
                f"Rate limit reached for the key '{name}' on requests per min (RPM): "
                f"Limit {rpm}, Used {count - 1}, Requested 1. Please try again in "
                f"{math.ceil(minute_left)}s.",
                headers=headers,
            )
        return admitted

    async def record(self, name: str, prompt_tokens: int, completion_tokens: int) -> None:
        """After a request of `name` has been answered."""
        try:
            await self.store.add_usage(
                name, utc_day(self.clock()), prompt_tokens, completion_tokens
            )
        except StoreUnavailable:
            self._store_failed("add_usage")

    async def usage(self, name: str) -> tuple[str, KeyUsage]:
        """Today's date (UTC) and `name`'s usage of it (raises StoreUnavailable)."""
        day = utc_day(self.clock())
        return day, await self.store.usage(name, day)
